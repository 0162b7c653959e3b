"""``python -m satnav``: the same as the ``satnav`` command."""

import sys

from .cli import main

sys.exit(main())

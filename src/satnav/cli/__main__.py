"""``python -m satnav.cli``: the same as the ``satnav`` command."""

import sys

from .main import main

sys.exit(main())

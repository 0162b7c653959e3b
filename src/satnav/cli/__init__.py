"""The ``satnav`` command line: a thin layer over the library workflows.

One module per command group: :mod:`~satnav.cli.main` (parser, ``info``, ``convert``,
``demo``, error handling), :mod:`~satnav.cli.solve`, :mod:`~satnav.cli.orbits`,
:mod:`~satnav.cli.constellation` (``plan``, ``sim``, ``evaluate``) and
:mod:`~satnav.cli.report`. The library never imports this package.
"""

from __future__ import annotations

from .checks import bounded_float, check_output_dir, check_output_file
from .main import SatnavArgumentParser, build_parser, main, os_error_message

__all__ = [
    "main", "build_parser", "SatnavArgumentParser", "os_error_message", "bounded_float",
    "check_output_file", "check_output_dir",
]

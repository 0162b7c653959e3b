"""satnav: GNSS positioning engine and navigation-constellation design toolkit.

The public API re-exports the few things users call; everything else lives in focused
modules (see the package layout in README.md).
"""

from __future__ import annotations

from ._version import __version__
from .errors import FormatError, RinexError, SatnavError, Sp3Error

__all__ = [
    "SatnavError",
    "FormatError",
    "RinexError",
    "Sp3Error",
    "read_obs",
    "read_nav",
    "read_sp3",
    "read_clk",
    "solve_spp",
    "solve_files",
    "SolveOptions",
    "__version__",
]

def __getattr__(name: str):
    """``solve_files`` and ``SolveOptions``, imported on first use (``import satnav`` stays light)."""
    if name == "solve_files":
        from .pipeline import solve_files as value
    elif name == "SolveOptions":
        from .options import SolveOptions as value
    else:
        raise AttributeError(f"module 'satnav' has no attribute {name!r}")
    globals()[name] = value
    return value


def read_obs(path, **kwargs):
    """Read a RINEX 2/3/4 observation file (plain, Hatanaka, gz/Z/bz2/zip).

    Returns :class:`satnav.observations.Observations`. See
    :func:`satnav.io.rinex_obs.read_rinex_obs` for options (``strict``)."""
    from .io.rinex_obs import read_rinex_obs

    return read_rinex_obs(path, **kwargs)


def read_nav(*paths, **kwargs):
    """Read and merge RINEX 2/3/4 navigation files of any system.

    Returns :class:`satnav.io.rinex_nav.Navigation`."""
    from .io.rinex_nav import read_rinex_nav

    return read_rinex_nav(*paths, **kwargs)


def read_sp3(*paths, **kwargs):
    """Read and merge SP3 a/c/d precise orbit files. Returns :class:`satnav.io.sp3.Sp3`."""
    from .io.sp3 import read_sp3 as _read_sp3

    return _read_sp3(*paths, **kwargs)


def read_clk(*paths, **kwargs):
    """Read and merge RINEX clock 2/3 files. Returns :class:`satnav.io.clk.ClockData`."""
    from .io.clk import read_clk as _read_clk

    return _read_clk(*paths, **kwargs)


def solve_spp(obs, nav, **kwargs):
    """Single point positioning of every epoch (all systems, RAIM, DOP, Doppler velocity).

    Returns :class:`satnav.estimators.solution.Solution`. See
    :func:`satnav.estimators.spp.solve_spp` for options."""
    from .estimators.spp import solve_spp as _solve_spp

    return _solve_spp(obs, nav, **kwargs)

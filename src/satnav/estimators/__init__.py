"""satnav.estimators: single point positioning, integrity, DOP and Doppler velocity."""

from .solution import STATUS, Solution
from .spp import solve_spp

__all__ = ["Solution", "STATUS", "solve_spp"]

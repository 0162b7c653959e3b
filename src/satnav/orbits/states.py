"""Satellite states (re-exported): the data model lives in :mod:`satnav.satellite_states`, beside
the observations and the navigation messages, so that readers (e.g. the GSDC states of
:mod:`satnav.io.android`) can produce it without importing an orbit module."""

from ..satellite_states import *  # noqa: F403
from ..satellite_states import __all__  # noqa: F401

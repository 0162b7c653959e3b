"""The system segment: design, propagate, broadcast, simulate, evaluate.

Importing the package registers :class:`~satnav.constellation.designed_source.DesignedSource`
with :func:`satnav.orbits.sources.state_source`, so a designed
:class:`~satnav.constellation.design.Constellation` is a satellite-state source wherever one
is accepted.
"""

from . import designed_source as _designed_source  # noqa: F401  (registers the source)

"""The control segment of a designed navigation system: monitoring network (``network``),
clock stochastic models (``clocks``), the truth world the network observes (``truth``: orbits
with the precise dynamics of :mod:`satnav.dynamics`, clocks, troposphere, noise, multipath),
orbit determination and time synchronisation with prediction, broadcast generation and SISRE
(``odts``), and the scenario that ties them (``scenario``; ``satnav odts``)."""

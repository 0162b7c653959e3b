"""Precise orbit dynamics: Earth gravity (EGM96 12x12, solid tides), Sun and Moon, solar
radiation pressure (ECOM) with eclipses and relativity, integrated in the GCRS with variational
equations, and least-squares orbit fitting to precise orbits.

Modules: ``gravity`` (spherical harmonics, tides), ``forces`` (the force model),
``integrator`` (fixed-step DOP853), ``propagator`` (many satellites at once, variational
equations), ``orbit_fit`` (fit to SP3, prediction). Needs ``pyerfa`` and
``astropy-iers-data`` (extra ``dynamics``), imported on first use.
"""

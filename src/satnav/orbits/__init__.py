"""satnav.orbits"""

"""satnav.models"""

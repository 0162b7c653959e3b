"""satnav.report"""

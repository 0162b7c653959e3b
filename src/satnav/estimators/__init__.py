"""satnav.estimators"""

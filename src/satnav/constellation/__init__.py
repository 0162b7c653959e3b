"""satnav.constellation"""

"""The version of satnav (one place; ``satnav.__version__`` and the file headers that name
the writing program read it from here)."""

__version__ = "0.1.0"

"""residency: prove from the network where traffic goes."""

__version__ = "0.1.0"

"""imshare: review, accept and reject images shared with your OpenStack / OTC project."""

__version__ = "0.1.0"

"""A faithful Keystone v3 + Glance v2 image-sharing cloud on loopback.

Used by ``imshare --demo``, the test suite and benchmarks.  Stdlib only, no Textual::

    from tui.democloud import DemoCloud, Faults

    with DemoCloud(images=300, seed=1) as cloud:
        cloud.credentials  # OS_* settings for the receiving project
"""

from .cloud import DemoCloud
from .faults import Faults
from .server import DemoStats

__all__ = ["DemoCloud", "DemoStats", "Faults"]

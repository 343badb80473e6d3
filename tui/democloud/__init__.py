"""A faithful Keystone v3 + Glance v2 image-sharing cloud on loopback.

Used by ``imshare --demo``, the test suite and benchmarks.  Stdlib only, no Textual::

    from tui.democloud import DemoCloud, Faults

    with DemoCloud(images=300, seed=1) as cloud:
        cloud.credentials  # OS_* settings for the receiving project

    with DemoCloud(projects=6, regions=("eu-de", "eu-nl")) as cloud:
        cloud.user_projects()  # the demo user's projects, round-robin over the regions
"""

from .cloud import DemoCloud, UserProject
from .faults import Faults
from .server import DemoStats

__all__ = ["DemoCloud", "DemoStats", "Faults", "UserProject"]

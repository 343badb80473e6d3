"""``python -m tui.democloud``: run the demo cloud in the foreground."""

import sys

from .cli import main

sys.exit(main())

"""``python -m tui`` does what the ``imshare`` command does."""

import sys

from tui.cli.main import main

sys.exit(main())

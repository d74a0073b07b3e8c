"""``python -m clv_segments``: the same command line as ``clv-segments``."""

import sys

from clv_segments.cli import main

if __name__ == "__main__":
    sys.exit(main())

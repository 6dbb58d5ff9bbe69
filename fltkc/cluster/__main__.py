"""`python -m fltkc.cluster build|up|down|status`."""

import sys

from fltkc.cluster.cli import main

sys.exit(main())

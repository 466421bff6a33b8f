"""`python -m fem_assb` runs the command-line interface."""

import sys

from fem_assb.cli import main

sys.exit(main())

"""``python -m splitgym`` runs the command line."""

import sys

from splitgym.cli import main

sys.exit(main())

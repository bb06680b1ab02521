"""`python -m streamlines` is the `streamlines` command."""

import sys

from .cli import main

sys.exit(main())

"""`python -m srviewer` is the same as the `srviewer` command."""

import sys

from srviewer.cli import main

sys.exit(main())

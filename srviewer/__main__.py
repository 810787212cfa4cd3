"""`python -m srviewer` is the same as the `srviewer` command."""

import sys

from srviewer.cli import main

if __name__ == "__main__":     # a spawned model process imports this module too: it must not run main()
    sys.exit(main())

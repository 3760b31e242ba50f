"""`python -m sigcc` is the `sigcc` command."""
import sys

from sigcc.cli import main

sys.exit(main())

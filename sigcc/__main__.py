"""`python -m sigcc` is the `sigcc` command."""
from sigcc.cli import entry

entry()

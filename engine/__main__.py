"""`python -m reesens`: the reesens command line."""
import sys

from reesens.cli import command_line

sys.exit(command_line())

"""`python -m reesens`: the reesens command line."""
import sys

from reesens.engine.cli import main

sys.exit(main())

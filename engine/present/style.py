"""Figure defaults, in one place for the figures, the report and the command line (no
matplotlib here: `reesens show` imports this)."""
from __future__ import annotations

DPI = 150  # resolution of png figures
FORMATS = ("png", "pdf", "svg")  # figure formats a report writes
FIG_WIDTH = 11.0  # inches: 1650 px wide at the default DPI
MIN_WIDTH = 6.0  # inches: a figure of one or two panels, with room for its title

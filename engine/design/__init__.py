"""Stage 2, the design: which points of the parameter box a run evaluates."""

"""Stage 7, the runs: Monte Carlo, Morris and grid runs, and what they need."""

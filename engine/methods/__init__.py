"""Stage 4, the sensitivity methods: per-block statistics and their results."""

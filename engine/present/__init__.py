"""Stage 8, presentation: report, figures and exported tables."""

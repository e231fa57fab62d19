"""Stage 3, evaluation: a design's rows through the model, per case and series."""

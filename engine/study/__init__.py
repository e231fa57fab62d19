"""Stage 1, the study: a TOML study checked whole into a Study, and names in words."""

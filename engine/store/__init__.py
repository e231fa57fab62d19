"""Stage 5, the store: integrity, ownership, layout, blocks and verification."""

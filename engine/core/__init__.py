"""Shared helpers every stage may use: files, progress, intervals, lazy imports."""

"""Unit kind: transfer (being written)."""

"""Unit kind: extraction (being written)."""

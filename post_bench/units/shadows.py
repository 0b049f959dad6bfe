"""Unit kind: shadows (being written)."""

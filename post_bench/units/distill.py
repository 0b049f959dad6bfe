"""Unit kind: distill (being written)."""

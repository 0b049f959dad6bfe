"""Unit kind: lira (being written)."""

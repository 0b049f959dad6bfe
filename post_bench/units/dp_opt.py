"""Unit kind: dp_opt (being written)."""

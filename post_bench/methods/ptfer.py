"""Method: ptfer (being written)."""

"""Method: dp_opt (being written)."""

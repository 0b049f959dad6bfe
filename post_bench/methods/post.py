"""Method: post (being written)."""

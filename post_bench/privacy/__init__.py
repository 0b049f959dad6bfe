"""Privacy accounting for discrete-prompt methods (DP-OPT)."""

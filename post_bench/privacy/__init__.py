"""DP-OPT, the discrete-prompt method: its mechanism (``dp_opt``) and its RDP accounting (``dp_opt_accounting``)."""

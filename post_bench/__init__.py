"""post-bench: privacy auditing and benchmarking for soft prompts (POST and baselines)."""

__version__ = "0.1.0"

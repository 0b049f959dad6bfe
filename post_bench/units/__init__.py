"""Unit kinds register themselves in post_bench.runner.units.UNIT_KINDS on import."""

from post_bench.units import distill, dp_opt, evaluate, extraction, lira, shadows, transfer, tune  # noqa: F401

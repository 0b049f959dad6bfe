"""Unit kinds register themselves in post_bench.runner.units.UNIT_KINDS on import."""

from post_bench.units import evaluate, tune  # noqa: F401

"""Unit kinds register themselves in post_bench.runner.units.UNIT_KINDS on import."""

from post_bench.units import (  # noqa: F401
    distill,
    dp_opt,
    evaluate,
    extraction,
    membership,
    one_run,
    shadows,
    transfer,
    tune,
)

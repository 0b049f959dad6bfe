"""Methods register themselves in METHODS on import; one file per method (or family)."""

from post_bench.methods import dp_opt, post, ptfer, simple  # noqa: F401
from post_bench.methods.base import METHODS, Method, Planner

__all__ = ["METHODS", "Method", "Planner"]

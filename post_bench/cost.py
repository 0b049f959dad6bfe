"""Per-unit cost accounting: wall time, tokens, estimated FLOPs and peak memory."""

from __future__ import annotations

import contextvars
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

_current: contextvars.ContextVar[CostMeter | None] = contextvars.ContextVar("post_bench_cost", default=None)


@dataclass
class CostMeter:
    tokens: int = 0
    flops: float = 0.0
    wall_s: float = 0.0
    peak_mem_mb: float = 0.0
    by_model: dict = field(default_factory=dict)

    def add(self, model: str, tokens: int, flops: float) -> None:
        self.tokens += int(tokens)
        self.flops += float(flops)
        entry = self.by_model.setdefault(model, {"tokens": 0, "flops": 0.0})
        entry["tokens"] += int(tokens)
        entry["flops"] += float(flops)


def record(model: str, tokens: int, params: int, passes: float) -> None:
    """Count ``tokens`` through a model of ``params`` parameters; ``passes``: 1 forward, 2 +input-grad
    backward, 3 +weight-grad backward (FLOPs ≈ 2·params·tokens per pass)."""
    meter = _current.get()
    if meter is not None:
        meter.add(model, tokens, 2.0 * params * tokens * passes)


def current() -> CostMeter | None:
    """The meter of the unit being measured (``None`` outside ``measure``): what it has counted so far."""
    return _current.get()


def _rss_mb() -> float:
    try:
        import psutil  # deferred: optional dependency (psutil)

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:  # pragma: no cover
        import resource  # deferred: fallback without psutil (resource: Unix only)

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def measure():
    """Measure the enclosed work; yields the CostMeter, filled in on exit."""
    import torch  # deferred: start-up time (torch)

    meter = CostMeter()
    token = _current.set(meter)
    stop = threading.Event()
    peak = [_rss_mb()]

    def sample() -> None:
        while not stop.wait(0.25):
            peak[0] = max(peak[0], _rss_mb())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    try:
        yield meter
    finally:
        meter.wall_s = time.perf_counter() - start
        stop.set()
        sampler.join()
        peak[0] = max(peak[0], _rss_mb())
        meter.peak_mem_mb = (torch.cuda.max_memory_allocated() / 2**20) if torch.cuda.is_available() else peak[0]
        _current.reset(token)

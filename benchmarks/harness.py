"""Benchmark registry and timing.

Targets are ratios measured side by side in one run, because absolute times on shared
machines are noise; never assert timings in unit tests.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

Row = dict  # name, value, unit, and optionally ratio, ratio_to, goal, ok, note


@dataclass(frozen=True)
class Benchmark:
    name: str
    run: Callable[[bool], list[Row]]


REGISTRY: dict[str, Benchmark] = {}


def benchmark(name: str):
    """Register ``fn(quick: bool) -> list[Row]`` under ``name``."""

    def register(fn: Callable[[bool], list[Row]]):
        if name in REGISTRY:
            raise ValueError(f"benchmark '{name}' is registered twice")
        REGISTRY[name] = Benchmark(name, fn)
        return fn

    return register


def timeit(fn: Callable[[], object], warmup: int = 2, repeat: int = 10) -> dict[str, float]:
    """Median / p95 / mean wall time of ``fn()`` in milliseconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    times = np.asarray(times)
    return {"median_ms": float(np.median(times)), "p95_ms": float(np.percentile(times, 95)),
            "mean_ms": float(times.mean())}

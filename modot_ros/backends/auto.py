"""``backend: auto``: start each candidate backend, time a few forwards, keep the fastest.

Timed at configure time on the real network input size, so the choice fits this machine and
this network; on a CPU shared with other work the choice can differ from one start to the next
(the medians are logged and reported in /diagnostics so the choice can be checked).
"""
from __future__ import annotations

import logging
import statistics
import time
from typing import Callable

import torch

WARMUP, REPEAT = 2, 5  # about 7 forwards per candidate: under a second each for lite0 at 320x240 on a CPU
log = logging.getLogger("modot_ros.backends")


def probe_input(config, device: torch.device) -> torch.Tensor:
    """A network input as ``to_network_input`` makes it: (1, 3, h, w) in [0, 1], channels_last."""
    x = torch.rand(1, 3, config.input_height, config.input_width, generator=torch.Generator().manual_seed(0))
    return x.to(device).contiguous(memory_format=torch.channels_last)


def median_ms(forward, x: torch.Tensor, warmup: int = WARMUP, repeat: int = REPEAT) -> float:
    """Median wall time of ``forward(x)`` in ms after ``warmup`` untimed calls."""
    for _ in range(warmup):
        forward(x)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        forward(x)
        if x.is_cuda:  # torch returns before the GPU is done
            torch.cuda.synchronize(x.device)
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def _reason(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error).strip() else type(error).__name__


def fastest(order: list[str], build: Callable[[str], object], x: torch.Tensor):
    """The fastest forward among ``order`` (names for ``build``); its ``choice`` says how it won.

    A candidate that cannot start or run logs one line and is skipped; only the best so far is kept
    alive, so losers free their memory as soon as they lose.
    """
    best, best_ms, timed, failed = None, float("inf"), [], []
    for name in order:
        try:
            forward = build(name)
            ms = median_ms(forward, x)
        except Exception as error:  # noqa: BLE001 - any failure to start or run skips this candidate
            log.warning("backend auto: %s unavailable (%s); trying the next", name, _reason(error))
            failed.append(name)
            continue
        timed.append(f"{name} {ms:.1f}")
        if ms < best_ms:
            best, best_ms = forward, ms
    if best is None:
        raise ValueError(f"backend auto: no backend started (tried {', '.join(order)}); see the lines above")
    best.choice = (f"auto chose {best.name}: {', '.join(timed)} ms per forward (median of {REPEAT})"
                   + (f"; unavailable: {', '.join(failed)}" if failed else ""))
    log.info("backend %s", best.choice)
    return best

"""/diagnostics for the node (diagnostic_updater is not pip-installable: the message is built here).

One status, ``<node name>: pipeline``, with rates, drops, stage timings (mean over the last
frames, ms), end-to-end latency (node clock - header.stamp, so sim time works), GPU memory, the
last error and the backend (``backend``; ``backend_choice``: how ``auto`` chose it); with a
``scale_source``, the metric scale (``scale_*`` keys: source, scale, mode, inliers, residual, age
of the last trusted fit); with a ``temporal_filter``, its last step (``temporal_*``).
"""
from __future__ import annotations

import threading
import time
from collections import deque

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

STAGES = ("convert", "forward", "scale", "readout", "cloud", "messages", "publish", "total")


class FrameStats:
    """Thread-safe counters and timing windows, read by the diagnostics timer."""

    def __init__(self, window: int = 50) -> None:
        self._lock = threading.Lock()
        self.counts = dict(input=0, processed=0, rejected=0, lazy_skipped=0)
        self.timings = {stage: deque(maxlen=window) for stage in STAGES}
        self.latency = deque(maxlen=window)
        self.last_error = ""
        self.scale: dict[str, str] = {}  # the metric-scale state of the last frame (ros.scale_input)
        self.backend: dict[str, str] = {}  # what runs the network and how auto chose it (set on configure)
        self.temporal: dict[str, str] = {}  # the temporal filter's last step (ros.temporal_input)
        self.recent_error = False  # since the previous diagnostics message
        self._last = (time.monotonic(), 0, 0)

    def count(self, name: str) -> None:
        with self._lock:
            self.counts[name] += 1

    def frame(self, timings_ms: dict[str, float], latency_ms: float | None) -> None:
        """Count a processed frame; ``latency_ms`` None: its stamp gives no latency (kept out)."""
        with self._lock:
            self.counts["processed"] += 1
            for stage, value in timings_ms.items():
                self.timings[stage].append(value)
            if latency_ms is not None:
                self.latency.append(latency_ms)

    def error(self, text: str) -> None:
        with self._lock:
            self.last_error, self.recent_error = text, True

    def rates(self) -> tuple[float, float]:
        """(input Hz, processed Hz) since the previous call."""
        now = time.monotonic()
        with self._lock:
            then, inputs, processed = self._last
            self._last = (now, self.counts["input"], self.counts["processed"])
        elapsed = max(now - then, 1e-6)
        return (self.counts["input"] - inputs) / elapsed, (self.counts["processed"] - processed) / elapsed


def _mean(values) -> float:
    return sum(values) / len(values) if values else 0.0


def gpu_memory_mb() -> tuple[float, float]:
    """(allocated, reserved) MiB on the current CUDA device; zeros on CPU."""
    try:
        import torch

        if torch.cuda.is_available() and torch.cuda.is_initialized():
            return torch.cuda.memory_allocated() / 2**20, torch.cuda.memory_reserved() / 2**20
    except ImportError:  # pragma: no cover
        pass
    return 0.0, 0.0


def diagnostics_message(name: str, hardware_id: str, stats: FrameStats, dropped: int, state: str,
                        expected_rate: float, stamp) -> DiagnosticArray:
    """One DiagnosticArray with the node's pipeline status.

    WARN on a recent error or a rate below 90 % of ``expected_rate``, ERROR when the model is not
    loaded (state not active).
    """
    input_hz, processed_hz = stats.rates()
    allocated, reserved = gpu_memory_mb()
    with stats._lock:
        values = {"state": state, "input_rate_hz": f"{input_hz:.2f}",
                  "processed_rate_hz": f"{processed_hz:.2f}", "dropped_frames": str(dropped),
                  **{k: str(v) for k, v in stats.counts.items()},
                  **{f"{s}_ms": f"{_mean(stats.timings[s]):.2f}" for s in STAGES},
                  "latency_ms": f"{_mean(stats.latency):.2f}",
                  "latency_max_ms": f"{max(stats.latency, default=0.0):.2f}",
                  "gpu_memory_allocated_mb": f"{allocated:.1f}", "gpu_memory_reserved_mb": f"{reserved:.1f}",
                  "last_error": stats.last_error, **stats.backend, **stats.scale, **stats.temporal}
        recent_error, stats.recent_error = stats.recent_error, False
    level, message = DiagnosticStatus.OK, "ok"
    if state != "active":
        level, message = DiagnosticStatus.ERROR, f"not processing: {state}"
    elif recent_error:
        level, message = DiagnosticStatus.WARN, stats.last_error
    elif expected_rate > 0 and input_hz > 0 and processed_hz < 0.9 * expected_rate:
        level, message = DiagnosticStatus.WARN, f"processed {processed_hz:.1f} Hz < expected {expected_rate} Hz"
    status = DiagnosticStatus(level=level, name=f"{name}: pipeline", message=message, hardware_id=hardware_id,
                              values=[KeyValue(key=k, value=v) for k, v in values.items()])
    array = DiagnosticArray(status=[status])
    array.header.stamp = stamp
    return array

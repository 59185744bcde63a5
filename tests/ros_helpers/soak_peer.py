"""Soak peer: camera frames at a fixed rate into a running node, per-window RSS and latency.

Usage: ``python -m tests.ros_helpers.soak_peer --frames N --rate HZ --window W --node-pid PID --out result.json``.
Every ``window`` frames sent it records the node's resident memory (``/proc/PID/status``); after
draining the node it adds each window's latency (p50/p95 of its answered frames) and keeps the
node's last /diagnostics, so the test can check drops = input - processed against the node's counters.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import rclpy

from tests.ros_helpers.node_peer import Peer

SETTLE_S = 2.5  # > the node's 1 s diagnostics period: the last message counts every frame


def rss_mb(pid: int) -> float:
    """Resident set size of process ``pid`` in MiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"process {pid} has no VmRSS (exited?)")


def latencies_ms(peer: Peer, stamps: set[int]) -> np.ndarray:
    """Receive minus stamp (ms) of the answered frames among ``stamps`` (first answer of each)."""
    seen = {}
    for entry in peer.seen["depth/image"]:
        seen.setdefault(entry["stamp"], entry["latency"] * 1e3)
    return np.array([seen[s] for s in stamps if s in seen])


def window_row(peer: Peer, index: int, stamps: list[int], rss: float) -> dict:
    lat = latencies_ms(peer, set(stamps))
    return {"window": index, "frames_sent": (index + 1) * len(stamps), "rss_mb": rss, "answered": int(lat.size),
            "latency_ms_p50": float(np.percentile(lat, 50)) if lat.size else None,
            "latency_ms_p95": float(np.percentile(lat, 95)) if lat.size else None}


def send_all(peer: Peer, frames: int, rate: float, window: int, pid: int) -> tuple[list[int], list[tuple]]:
    """Publish ``frames`` frames at ``rate`` Hz, spinning in between; (index, stamps, RSS MiB) per window."""
    sent, windows, period = [], [], 1.0 / rate
    next_tick = time.monotonic()
    for i in range(frames):
        sent.append(time.time_ns())
        peer.frame(sent[-1])
        if (i + 1) % window == 0:
            windows.append((len(windows), sent[-window:], rss_mb(pid)))
        next_tick += period
        while (left := next_tick - time.monotonic()) > 0:
            rclpy.spin_once(peer.node, timeout_sec=min(0.005, left))
    return sent, windows


def drain(peer: Peer, sent: list[int]) -> None:
    """Wait until answers stopped arriving, then for one more /diagnostics message."""
    count, quiet_since = -1, time.monotonic()
    while time.monotonic() - quiet_since < SETTLE_S:
        peer.spin(0.2)
        now = len(peer.received("depth/image") & set(sent))
        if now != count:
            count, quiet_since = now, time.monotonic()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, required=True)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--window", type=int, default=1000)
    parser.add_argument("--node-pid", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    rclpy.init()
    try:
        peer = Peer("", "image", "camera_info", "modot")
        peer.subscribe(["depth/image"])
        assert peer.wait(lambda: peer.wait_node(1) and peer.subs["depth/image"].get_publisher_count() > 0, 90), \
            "the node never subscribed"
        sent, windows = send_all(peer, args.frames, args.rate, args.window, args.node_pid)
        drain(peer, sent)
        windows = [window_row(peer, *window) for window in windows]  # latencies once every answer is in
        answered = len(peer.received("depth/image") & set(sent))
        Path(args.out).write_text(json.dumps({"sent": len(sent), "answered": answered, "windows": windows,
                                              "diag": dict(peer.diagnostics)}))
    finally:
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()

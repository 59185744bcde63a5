"""Soak: ``MODOT_SOAK_FRAMES`` frames (default 10,000) at 30 Hz into the real node over DDS (``make soak``).

Reports, per window of ``MODOT_SOAK_WINDOW`` frames (default 1,000), the node's RSS and the
latency p50/p95. Checks: RSS grows at most 5 % after the first (warm-up) window, latency stays
bounded, and every frame is accounted for: input = sent (less at most ``MODOT_SOAK_MAX_DDS_LOSS`` of
them lost by DDS before the node, with ``MODOT_SOAK_NODE=default``), and drops = input - processed,
exactly the frames the node itself counts as dropped (freshest-frame worker, unmatched), rejected or
skipped. Marked soak:
``make test`` (CI) leaves it out.
"""
import json
import os

import pytest

from tests.ros_helpers.node_run import FAST
from tests.ros_helpers.process import Deadline, ros_env, start, stop

pytestmark = [pytest.mark.ros, pytest.mark.slow, pytest.mark.soak]
FRAMES = int(os.environ.get("MODOT_SOAK_FRAMES", "10000"))
WINDOW = int(os.environ.get("MODOT_SOAK_WINDOW", "1000"))
RATE_HZ = 30.0
RSS_GROWTH = 0.05
MAX_P95_MS = float(os.environ.get("MODOT_SOAK_MAX_P95_MS", "1000"))  # bounded: a few frame times, not growing
# a model slower than the camera (debug_delay_ms per frame) makes the worker drop frames: the accounting check bites
DELAY_MS = os.environ.get("MODOT_SOAK_DELAY_MS", "0")
# fast: random weights, 128x96 network, torch (the node's own behaviour); default: the node as shipped
# (packaged weights, its default backend auto, its network size) on the CPU
NODE = os.environ.get("MODOT_SOAK_NODE", "fast")
NODE_ARGS = {"fast": FAST, "default": ["-p", "device:=cpu"]}[NODE]
# frames DDS may lose before the node sees them (reliable, keep-last: a sample is replaced when the
# node's executor is late); the fast node has never lost one, the shipped one lost 1 in 10,000
MAX_DDS_LOSS = float(os.environ.get("MODOT_SOAK_MAX_DDS_LOSS", "0" if NODE == "fast" else "0.001"))


@pytest.fixture(scope="module")
def soak(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("soak")
    env = ros_env(domain_id=150 + os.getpid() % 50, tmp_path=tmp) | {"OMP_NUM_THREADS": "1"}
    # reliable input: DDS loses nothing, so every frame sent is one the node counts as input
    node = start(["-m", "modot_ros.ros.node", "--ros-args", *NODE_ARGS, "-p", "input_qos:=DEFAULT",
                  "-p", f"debug_delay_ms:={DELAY_MS}"], env, tmp / "node.log")
    peer = start(["-m", "tests.ros_helpers.soak_peer", "--frames", str(FRAMES), "--rate", str(RATE_HZ),
                  "--window", str(WINDOW), "--node-pid", str(node.pid), "--out", str(tmp / "soak.json")],
                 env, tmp / "peer.log")
    try:
        code = Deadline(FRAMES / RATE_HZ + 180).wait(peer)
    finally:
        stop(peer)
        stop(node)
    assert code == 0, (tmp / "peer.log").read_text() + (tmp / "node.log").read_text()
    return json.loads((tmp / "soak.json").read_text())


def test_soak_report(soak, capsys):
    """The per-window table a user reads after ``make soak`` (RSS, latency, answered)."""
    with capsys.disabled():
        print(f"\nsoak: {soak['sent']} frames at {RATE_HZ:g} Hz, {soak['answered']} answered")
        print("window  frames  RSS MiB  answered  p50 ms  p95 ms")
        for w in soak["windows"]:
            print(f"{w['window']:>6}  {w['frames_sent']:>6}  {w['rss_mb']:>7.1f}  {w['answered']:>8}  "
                  f"{w['latency_ms_p50'] or float('nan'):>6.1f}  {w['latency_ms_p95'] or float('nan'):>6.1f}")
    assert len(soak["windows"]) == FRAMES // WINDOW and all(w["answered"] for w in soak["windows"])


def test_memory_does_not_grow_after_warm_up(soak):
    """A node that leaks a little per frame would fill a robot's memory over a mission."""
    rss = [w["rss_mb"] for w in soak["windows"]]
    assert len(rss) >= 2, "set MODOT_SOAK_FRAMES to at least two windows"
    assert max(rss[1:]) <= rss[0] * (1 + RSS_GROWTH), rss


def test_latency_stays_bounded_in_every_window(soak):
    """The freshest-frame worker keeps latency at a few frame times for the whole run."""
    p95 = [w["latency_ms_p95"] for w in soak["windows"]]
    assert all(value is not None and value <= MAX_P95_MS for value in p95), p95


def test_every_frame_is_processed_or_counted_as_dropped(soak):
    """drops = input - processed, exactly what the node reports as dropped, rejected or skipped."""
    diag = soak["diag"]
    received = int(diag["input"])
    assert soak["sent"] - MAX_DDS_LOSS * soak["sent"] <= received <= soak["sent"], (soak["sent"], diag)
    assert int(diag["processed"]) == soak["answered"]
    drops = received - soak["answered"]
    assert drops == int(diag["dropped_frames"]) + int(diag["rejected"]) + int(diag["lazy_skipped"]), diag

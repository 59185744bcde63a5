"""Live replay: evaluate the node as deployed, over DDS with sim time.

Plays a bag into the running node, records what it publishes and scores it (drops, latency,
the same metrics as ``modot-eval-bag``).

``scripts/in_loopback.sh python -m modot_ros.ros.tools.replay BAG --output DIR [--rate R] [-p name:=value]``
(the wrapper keeps DDS on loopback). Order: node, recorder (waits for the node's topics), player
(waits for the node's image subscription, publishes /clock), drain, stop, evaluate. This module
only starts processes; rclpy lives in ``modot_ros.ros``.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

from modot_ros.bags.io import BagError, TopicSelection, open_bag, select_topics
from modot_ros.evaluation.replay_evaluation import evaluate_recording
from modot_ros.pipeline.compressed import COMPRESSED_IMAGE
from modot_ros.pipeline.topics import RECORDED


def image_arguments(image: str, compressed: bool) -> list[str]:
    """ROS arguments that route the node's input to ``image`` (a CompressedImage topic when ``compressed``)."""
    if not compressed:
        return ["-r", f"image:={image}"]
    base, _, leaf = image.rpartition("/")
    route = f"image:={base}" if leaf == "compressed" and base else f"image/compressed:={image}"
    return ["-r", route, "-p", "image_transport:=compressed"]


def node_command(image: str, camera_info: str, namespace: str, params: Sequence[str],
                 compressed: bool = False) -> list[str]:
    """The modot node with remaps, sim time and ``name:=value`` parameters (given ones win).

    ``lazy:=false`` as in launch/replay.launch.py: a lazy node skips the frames that arrive before
    it has matched the recorder's subscriptions, and a replay would count them as drops.
    """
    command = [sys.executable, "-m", "modot_ros.ros.node", "--ros-args", *image_arguments(image, compressed),
               "-r", f"camera_info:={camera_info}", "-p", "use_sim_time:=true", "-p", "lazy:=false"]
    if namespace.strip("/"):
        command += ["-r", f"__ns:=/{namespace.strip('/')}"]
    for param in params:
        command += ["-p", param]
    return command


def _start(command: list[str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(command, stdout=log.open("w"), stderr=subprocess.STDOUT)


def _tail(log: Path, lines: int = 5) -> str:
    text = log.read_text(errors="replace").strip().splitlines() if log.exists() else []
    return " | ".join(text[-lines:])


def _wait_file(path: Path, processes: dict[str, tuple[subprocess.Popen, Path]], timeout: float) -> None:
    """Wait for ``path`` to appear; a process that exits first is reported with its log tail."""
    end = time.monotonic() + timeout
    while not path.exists():
        for name, (process, log) in processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode} during start-up: {_tail(log)}")
        if time.monotonic() > end:
            raise TimeoutError(f"node outputs did not appear within {timeout:.0f} s; node log: "
                               f"{_tail(processes['node'][1])}")
        time.sleep(0.1)


def _drain(status: Path, topic: str, quiet_s: float, timeout: float) -> None:
    """Wait until the recorder's count on ``topic`` stopped growing for ``quiet_s`` seconds."""
    last, since, end = -1, time.monotonic(), time.monotonic() + timeout
    while time.monotonic() < end and time.monotonic() - since < quiet_s:
        try:
            count = json.loads(status.read_text()).get(topic, 0)
        except (OSError, ValueError):
            count = last
        if count != last:
            last, since = count, time.monotonic()
        time.sleep(0.1)


def _stop(process: subprocess.Popen, timeout: float = 15.0) -> None:
    if process.poll() is None:
        process.send_signal(2)  # SIGINT: the recorder and rclpy nodes shut down cleanly
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def replay_bag(bag: str | Path, output: str | Path, *, rate: float = 1.0, params: Sequence[str] = (),
               namespace: str = "", command: list[str] | None = None, topics: dict | None = None,
               align: str = "none", startup_timeout: float = 180.0, quiet_s: float = 3.0,
               ply_frames: int = 0, run_info: dict | None = None, ob_thresholds: int = 99,
               ob_stride: int = 1) -> dict:
    """Replay ``bag`` into the node and evaluate its outputs; returns the report summary.

    command: the node process to start (default ``node_command(...)``; tests pass a stand-in).
    ply_frames: write PLY clouds of the first N answered frames. run_info: extra report fields.
    ob_thresholds, ob_stride: BSDS thresholds and frame stride of the OB scores (speed).
    """
    output = Path(output)
    (output / "logs").mkdir(parents=True, exist_ok=True)
    with open_bag(bag) as reader:
        selection = select_topics(reader, **(topics or {}))
        duration_s = reader.duration / 1e9
        compressed = any(c.topic == selection.image and c.msgtype == COMPRESSED_IMAGE for c in reader.connections)
    prefix = "/" + namespace.strip("/") + "/" if namespace.strip("/") else "/"
    if (output / "recorded_bag").exists():
        raise BagError(f"{output / 'recorded_bag'} exists; remove it or choose another --output")
    node = command or node_command(selection.image, selection.camera_info, namespace, params, compressed)
    wall = _run_live(bag, node, selection, prefix, output, rate, startup_timeout,
                     startup_timeout + duration_s / rate + 60, quiet_s)
    run = {"rate": rate, "wall_s": wall, "bag_duration_s": duration_s} | (run_info or {})
    return evaluate_recording(bag, output / "recorded_bag", output / "player_log.json", output, selection, prefix,
                              align, run, ply_frames, ob_thresholds, ob_stride)


def _run_live(bag: str | Path, node: list[str], selection: TopicSelection, prefix: str, output: Path, rate: float,
              startup_timeout: float, play_timeout: float, quiet_s: float) -> float:
    """Node, then recorder (until it sees the node's topics), then player; drain; stop all.

    Returns the wall time of playback and drain, in seconds.
    """
    logs, processes = output / "logs", {}
    ready, status = logs / "recorder.ready", logs / "recorder_status.json"
    ready.unlink(missing_ok=True)
    recorded = [prefix + t for t in RECORDED] + ["/diagnostics"]
    try:
        processes["node"] = (_start(node, logs / "node.log"), logs / "node.log")
        processes["recorder"] = (_start([sys.executable, "-m", "modot_ros.ros.tools.recorder", "-o",
                                         str(output / "recorded_bag"), "--topics", *recorded, "--require",
                                         prefix + "depth/image", "--ready-file", str(ready), "--status-file",
                                         str(status)], logs / "recorder.log"), logs / "recorder.log")
        _wait_file(ready, processes, startup_timeout)
        player = _start([sys.executable, "-m", "modot_ros.ros.tools.bag_player", str(bag), "--rate", str(rate),
                         "--topics", *selection.roles().values(), "--wait-for", selection.image,
                         "--log", str(output / "player_log.json")], logs / "player.log")
        processes["player"] = (player, logs / "player.log")
        wall_start = time.monotonic()
        if player.wait(timeout=play_timeout) != 0:
            raise RuntimeError(f"bag player failed: {_tail(logs / 'player.log')}")
        _drain(status, prefix + "depth/image", quiet_s, timeout=120.0)
        return time.monotonic() - wall_start
    finally:
        for name in ("player", "recorder", "node"):
            if name in processes:
                _stop(processes[name][0])


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="modot-replay", description=__doc__.split("\n\n")[0])
    p.add_argument("bag")
    p.add_argument("--output", "-o", default="replay_eval")
    p.add_argument("--rate", type=float, default=1.0, help="playback speed (lower it for a slow CPU)")
    p.add_argument("-p", "--param", action="append", default=[], help="node parameter name:=value")
    p.add_argument("--namespace", default="")
    p.add_argument("--image")
    p.add_argument("--camera-info")
    p.add_argument("--gt-depth")
    p.add_argument("--gt-boundary")
    p.add_argument("--align", choices=("none", "median"), default="none")
    p.add_argument("--ob-thresholds", type=int, default=99, help="BSDS thresholds (99; fewer is faster)")
    p.add_argument("--ob-stride", type=int, default=1, help="score OBs on every Nth frame (speed)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    topics = dict(image=args.image, camera_info=args.camera_info, gt_depth=args.gt_depth,
                  gt_boundary=args.gt_boundary)
    try:
        summary = replay_bag(args.bag, args.output, rate=args.rate, params=args.param,
                             namespace=args.namespace, topics=topics, align=args.align,
                             ob_thresholds=args.ob_thresholds, ob_stride=args.ob_stride)
    except (BagError, RuntimeError, TimeoutError, ValueError) as error:
        print(f"modot-replay: error: {error}", file=sys.stderr)
        return 2
    run = summary["run"]
    print(f"modot-replay: {run['frames_out']}/{run['frames_in']} frames, latency p50 "
          f"{run['latency_ms_p50']} ms; report in {args.output}/report.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())

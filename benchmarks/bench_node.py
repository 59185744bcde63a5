"""End-to-end node benchmark: image published in one process -> ``points`` received in another.

Runs ``modot_node`` (lite0, random weights, network 320x240 by default) as a separate process,
publishes 320x240 rgb8 frames at ``--rate`` Hz from a peer process, and reports the end-to-end
latency (receive wall time - header stamp), the output rate and the node's own stage breakdown
from /diagnostics. ``--rviz``: the node with its default ``lazy`` and the peer subscribed to what
RViz shows (depth, boundary, cloud: ``RVIZ_TOPICS``), issue 30's scenario; without it the node
builds every output (``lazy:=false``) and the peer reads ``points`` only.
Standalone: ``python -m benchmarks.bench_node [--quick] [--rate 15] [--rviz]``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from benchmarks.harness import benchmark
from modot_ros.ros.dds_profile import profile_env

REPO = Path(__file__).resolve().parents[1]
GOAL_HZ = 10.0
RVIZ_TOPICS = ("depth/image", "occlusion/boundary")  # besides points, which the peer always reads


def _env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ, ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
               ROS_DOMAIN_ID=str(200 + os.getpid() % 30), ROS_LOG_DIR=str(tmp / "log"),
               ROS_HOME=str(tmp / "home"), PYTHONUNBUFFERED="1",
               **profile_env(REPO / "config" / "fastdds_shm.xml"))
    return env


def _publish(node, images, infos, rgb, intr, rate: float, seconds: float, latencies: list) -> dict:
    """Publish image + camera_info at ``rate`` for 3 s of warm-up and then ``seconds``.

    Returns the frames sent after the warm-up, that window (``time.monotonic``, which every process
    on the host shares) and this process's CPU seconds in it.

    Frames are due on a fixed clock, as a camera's are: a frame published late does not delay the
    next one (scheduling each frame from the last one's start lost the overshoot of every wait,
    ~10 % of a 30 Hz rate); a frame whose publishing ends more than a period after it was due makes
    the next one skipped, as a camera's driver drops frames it cannot send.
    """
    import rclpy
    from sensor_msgs.msg import CameraInfo, Image, RegionOfInterest
    from std_msgs.msg import Header

    from modot_ros.pipeline.messages import array_to_image, intrinsics_to_camera_info

    period = 1.0 / rate
    due = time.monotonic()
    warm_until, stop_at, sent, cpu_start = due + 3.0, due + 3.0 + seconds, 0, None
    while (now := time.monotonic()) < stop_at:
        if now < due:
            rclpy.spin_once(node, timeout_sec=min(0.005, due - now))
            continue
        header = Header(frame_id="camera_optical_frame")
        header.stamp.sec, header.stamp.nanosec = divmod(time.time_ns(), 10**9)
        infos.publish(intrinsics_to_camera_info(intr, header, CameraInfo, RegionOfInterest))
        images.publish(array_to_image(rgb, "rgb8", header, Image))
        if now > warm_until:
            sent += 1
            cpu_start = time.process_time() if cpu_start is None else cpu_start
        elif latencies:
            latencies.clear()  # drop warm-up frames
        due += period * (1 + int((time.monotonic() - due) / period))  # done over a period late: skip a frame
    return {"sent": sent, "window": (warm_until, stop_at),
            "peer_cpu_s": time.process_time() - (cpu_start or time.process_time())}


def peer(rate: float, seconds: float, width: int, height: int, out: str, rviz: bool = False) -> None:
    """Publish frames, record `points` latencies and the node's last diagnostics (JSON to out).

    ``rviz``: also subscribe ``RVIZ_TOPICS`` (each message taken and converted, as a viewer would).
    """
    import numpy as np
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import CameraInfo, Image, PointCloud2

    from modot_ros.geometry import CameraIntrinsics

    rclpy.init()
    node = rclpy.create_node("bench_peer")
    qos = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
    images, infos = node.create_publisher(Image, "image", qos), node.create_publisher(CameraInfo, "camera_info", qos)
    latencies, diag = [], {}
    node.create_subscription(PointCloud2, "points", lambda m: latencies.append(
        time.time() - (m.header.stamp.sec + m.header.stamp.nanosec * 1e-9)), qos)
    for topic in RVIZ_TOPICS if rviz else ():
        node.create_subscription(Image, topic, lambda m: None, qos)
    node.create_subscription(DiagnosticArray, "/diagnostics", lambda m: diag.update(
        {kv.key: kv.value for kv in m.status[0].values}), 10)
    end = time.monotonic() + 120
    while images.get_subscription_count() == 0 and time.monotonic() < end:
        rclpy.spin_once(node, timeout_sec=0.1)
    rgb = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    intr = CameraIntrinsics(0.9 * width, 0.9 * width, width / 2 - 0.5, height / 2 - 0.5, width, height)
    sending = _publish(node, images, infos, rgb, intr, rate, seconds, latencies)
    for _ in range(40):
        rclpy.spin_once(node, timeout_sec=0.05)
    Path(out).write_text(json.dumps({"latencies": latencies, "seconds": seconds, "diag": diag} | sending))
    rclpy.try_shutdown()


def run(rate: float, seconds: float, width: int = 320, height: int = 240, net: tuple[int, int] = (320, 240),
        backend: str = "torch", params: tuple[str, ...] = (), rviz: bool = False) -> dict:
    """One node run; ``params``: more ``name:=value`` node parameters (e.g. ``pipeline_threads:=1``).

    ``rviz``: the node's default ``lazy`` and the peer reading depth, boundary and cloud (issue 30's
    scenario); otherwise ``lazy:=false`` (every output built) and the peer reading ``points``.
    """
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp, out = Path(tmp_name), Path(tmp_name) / "bench.json"
        env = _env(tmp) | {"MODOT_ROS_CACHE": str(tmp / "cache")}  # ONNX export is part of start-up
        node = subprocess.Popen([sys.executable, "-m", "modot_ros.ros.node", "--ros-args", "-p", "random_weights:=true",
                                 "-p", "device:=cpu", "-p", f"input_width:={net[0]}", "-p", f"input_height:={net[1]}",
                                 *(() if rviz else ("-p", "lazy:=false")), "-p", f"backend:={backend}",
                                 *(arg for p in params for arg in ("-p", p))], env=env, cwd=REPO,
                                stdout=(tmp / "node.log").open("w"), stderr=subprocess.STDOUT)
        cpu = _CpuSampler(node.pid)
        try:
            subprocess.run([sys.executable, "-m", "benchmarks.bench_node", "--peer", "--rate", str(rate),
                            "--seconds", str(seconds), "--size", str(width), str(height), "--out", str(out),
                            *(("--rviz",) if rviz else ())],
                           env=env, cwd=REPO, check=True, timeout=240)
        finally:
            cpu.stop()
            node.terminate()
            node.wait(20)
        result = json.loads(out.read_text())
        return result | {"node_cpu_s": cpu.seconds_between(*result["window"])}


class _CpuSampler:
    """A process's CPU seconds (user + system, all threads) sampled every 0.2 s (psutil, pinned)."""

    def __init__(self, pid: int):
        self.process, self.samples = psutil.Process(pid), []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.done.wait(0.2):
            try:
                times = self.process.cpu_times()
            except psutil.Error:  # the process ended
                return
            self.samples.append((time.monotonic(), times.user + times.system))

    def stop(self) -> None:
        self.done.set()
        self.thread.join()

    def seconds_between(self, start: float, end: float) -> float | None:
        """CPU seconds spent in [start, end] (monotonic), from the samples nearest its ends."""
        inside = [cpu for at, cpu in self.samples if start <= at <= end]
        return inside[-1] - inside[0] if len(inside) > 1 else None


def rows(result: dict, label: str = "node lite0 320x240 cpu", goal_hz: float = GOAL_HZ) -> list[dict]:
    import numpy as np

    lat = np.asarray(result["latencies"]) * 1e3
    hz = len(lat) / result["seconds"]
    diag = result["diag"]
    out = [{"name": f"{label} output rate (points)", "value": round(hz, 2), "unit": "Hz",
            "goal": f">= {goal_hz}", "ok": bool(hz >= goal_hz)},
           {"name": "end-to-end latency image->points median",
            "value": round(float(np.median(lat)), 1) if lat.size else None, "unit": "ms"},
           {"name": "end-to-end latency p95", "value": round(float(np.percentile(lat, 95)), 1) if lat.size else None,
            "unit": "ms"},
           {"name": "dropped frames (node busy)", "value": int(diag.get("dropped_frames", 0)), "unit": "frames",
            "note": f"{result['sent']} sent"}]
    if (node_cpu := result.get("node_cpu_s")) is not None:  # share of one core; 200 % = both of two
        out += [{"name": "node CPU", "value": round(100 * node_cpu / result["seconds"], 1), "unit": "%",
                 "note": f"{1e3 * node_cpu / max(lat.size, 1):.1f} core-ms per answered frame"},
                {"name": "sending and subscribing process CPU", "unit": "%",
                 "value": round(100 * result["peer_cpu_s"] / result["seconds"], 1)}]
    out += [{"name": f"node stage {stage}", "value": float(diag.get(f"{stage}_ms", "nan")), "unit": "ms"}
            for stage in ("convert", "forward", "readout", "cloud", "messages", "publish", "total")]
    return out


@benchmark("node.end_to_end")
def end_to_end(quick: bool) -> list[dict]:
    return rows(run(rate=15.0, seconds=3.0 if quick else 15.0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=float, default=15.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--size", type=int, nargs=2, default=(320, 240))
    parser.add_argument("--out", default="")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rviz", action="store_true", help="default lazy; peer reads depth, boundary and cloud")
    parser.add_argument("--backend", default="torch")
    parser.add_argument("-p", "--param", action="append", default=[], metavar="NAME:=VALUE",
                        help="another node parameter, e.g. -p pipeline_threads:=1 -p threads:=1")
    args = parser.parse_args()
    if args.peer:
        peer(args.rate, args.seconds, *args.size, args.out, args.rviz)
        return
    result = run(args.rate, 3.0 if args.quick else args.seconds, *args.size, backend=args.backend,
                 params=tuple(args.param), rviz=args.rviz)
    for row in rows(result, f"node {args.size[0]}x{args.size[1]} image, {args.backend} {' '.join(args.param)}"):
        print(row)


if __name__ == "__main__":
    main()

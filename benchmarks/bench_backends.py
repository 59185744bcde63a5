"""Network forward per backend, side by side in one run, and the node end to end on onnxruntime / openvino.

Forward: lite0 (random weights, same input) through the estimator's torch and onnxruntime
forwards at 320x240 and 640x480, on 1 thread (robust to a busy shared CPU; a 2-core robot gets at
least this) and on 2. Node: ``modot_node`` with its default ``backend:=auto`` (what it chose in the
row's note), with ``backend:=torch``, ``backend:=onnxruntime`` and ``backend:=openvino``,
320x240 network input, fed 320x240 and 640x480 images at 30 Hz, with its default ``lazy`` and a peer
reading depth, boundary and cloud as RViz would (``benchmarks.bench_node``, ``rviz``). Each
engine's own costs, in a process of its own: ``benchmarks.bench_stages``.
Standalone: ``python -m benchmarks --only backends``.
"""
from __future__ import annotations

import tempfile

import torch

from benchmarks import bench_node
from benchmarks.harness import benchmark, timeit
from modot_ros.backends import make_forward
from modot_ros.config import ModelConfig
from modot_ros.model.network import DepthBoundaryNet

SIZES = {"320x240": (320, 240), "640x480": (640, 480)}
GOAL_RATIO = 2.0
NODE_GOAL_HZ = 20.0
NODE_640_NET_GOAL_HZ = 12.0  # issue 30: a 640x480 network on the CPU


def _forwards(size: tuple[int, int], threads: int, cache: str) -> dict:
    torch.manual_seed(0)
    config = ModelConfig(input_width=size[0], input_height=size[1], pretrained_encoder=False)
    model = DepthBoundaryNet(config, pretrained=False).eval()
    device = torch.device("cpu")
    return {name: make_forward(name, model, device, "fp32", threads=threads, cache=cache)
            for name in ("torch", "onnxruntime")}


def _pair_rows(size_name: str, threads: int, cache: str, repeat: int) -> list[dict]:
    size = SIZES[size_name]
    previous = torch.get_num_threads()
    forwards = _forwards(size, threads, cache)
    x = torch.rand(1, 3, size[1], size[0]).contiguous(memory_format=torch.channels_last)
    try:
        times = {name: timeit(lambda f=f: f(x), warmup=2, repeat=repeat)["median_ms"]
                 for name, f in forwards.items()}
    finally:
        torch.set_num_threads(previous)
    ratio = times["torch"] / times["onnxruntime"]
    label = f"lite0 {size_name} forward, {threads} thread{'s' if threads > 1 else ''}"
    return [{"name": f"{label}: torch", "value": times["torch"], "unit": "ms"},
            {"name": f"{label}: onnxruntime", "value": times["onnxruntime"], "unit": "ms", "ratio": ratio,
             "ratio_to": "speed-up vs torch", "goal": f">= {GOAL_RATIO}", "ok": ratio >= GOAL_RATIO}]


@benchmark("backends.forward")
def forward(quick: bool) -> list[dict]:
    """torch vs onnxruntime CPU forward, same weights and input, in one run."""
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        for size_name in ("320x240",) if quick else SIZES:
            for threads in (1,) if quick else (1, 2):
                rows += _pair_rows(size_name, threads, cache, repeat=3 if quick else 15)
    return rows


def _node_rows(backend: str, quick: bool) -> list[dict]:
    """A 30 Hz camera at 320x240 and 640x480 into a 320x240 network; the default also at 640x480 inference."""
    rows = []
    runs = [((320, 240), (320, 240))] if quick else [((320, 240), (320, 240)), ((640, 480), (320, 240))]
    if backend == "auto" and not quick:
        runs.append(((640, 480), (640, 480)))
    for (width, height), net in runs:
        label = f"node lite0 {width}x{height} image, net {net[0]}x{net[1]}, {backend}"
        result = bench_node.run(rate=30.0, seconds=3.0 if quick else 15.0, width=width, height=height,
                                net=net, backend=backend, rviz=True)
        lines = [row if row["name"].startswith(label) else row | {"name": f"  {row['name']}"}
                 for row in bench_node.rows(result, label, NODE_GOAL_HZ if net == (320, 240) else NODE_640_NET_GOAL_HZ)]
        if backend == "auto":  # what the default chose on this machine, as /diagnostics says
            lines[0]["note"] = result["diag"].get("backend_choice", "no diagnostics")
        rows += lines
    return rows


@benchmark("backends.node_auto")
def node_auto(quick: bool) -> list[dict]:
    """modot_node with its default backend, auto: image -> points in another process; the choice in the note."""
    return _node_rows("auto", quick)


@benchmark("backends.node_torch")
def node_torch(quick: bool) -> list[dict]:
    """modot_node with backend torch, fed as the default is: the "x torch" of issue 30 at one send rate."""
    return _node_rows("torch", quick)


@benchmark("backends.node_onnxruntime")
def node_onnxruntime(quick: bool) -> list[dict]:
    """modot_node with backend onnxruntime: image -> points in another process."""
    return _node_rows("onnxruntime", quick)


@benchmark("backends.node_openvino")
def node_openvino(quick: bool) -> list[dict]:
    """modot_node with backend openvino (CPU): image -> points in another process."""
    return _node_rows("openvino", quick)

"""Per-frame cost of the metric-scale engine (``modot_ros.scale``): ``python -m benchmarks --only scale``.

Each source's whole per-frame step as the node runs it (``ScaleEngine.process``: sample selection
with the OB map and confidence, the fit, the tracker and scaling the prediction's arrays) on a
synthetic room at 320x240 and 640x480, one torch thread. Goal (issue 21): <= 5 ms per frame on the
CPU. Measured in process CPU time (as ``bench_metrics``): on a shared machine wall time mostly
counts the other processes' slices.
"""
from __future__ import annotations

import time

import numpy as np
import torch

from benchmarks.harness import benchmark
from modot_ros.geometry import CameraIntrinsics
from modot_ros.inference import Prediction
from modot_ros.scale import LaserScanData, RangeData, ScaleEngine, ScaleSettings, ground_truth_samples

GOAL_MS = 5.0
HEIGHT_M = 1.0


def _frame(width: int, height: int) -> tuple[Prediction, np.ndarray]:
    """A floor 1 m below a level camera, a wall at 6 m, with a box; the prediction 1.3x too far."""
    intr = CameraIntrinsics(0.8 * width, 0.8 * width, (width - 1) / 2, (height - 1) / 2, width, height)
    y = (np.arange(height)[:, None] - intr.cy) / intr.fy + np.zeros((1, width))
    with np.errstate(divide="ignore"):
        gt = np.where(y > HEIGHT_M / 6, HEIGHT_M / np.maximum(y, 1e-6), 6.0).astype(np.float32)
    gt[height // 3:height * 2 // 3, width // 8:width // 3] = 2.0
    boundary = np.zeros_like(gt)
    boundary[height // 3, width // 8:width // 3] = 1.0
    rng = np.random.default_rng(0)
    depth = gt * 1.3 * np.exp(0.05 * rng.standard_normal(gt.shape)).astype(np.float32)
    params = np.concatenate([np.stack([1 / depth, 1 / depth]), np.full((2, height, width), 0.02, np.float32),
                             np.full((1, height, width), 0.9, np.float32)])
    pred = Prediction(depth=depth, depth_mean=depth.copy(), boundary=boundary,
                      confidence=np.full_like(gt, 0.9), ambiguity=np.zeros_like(gt), sigma=0.01 * depth,
                      params=params.astype(np.float32), intrinsics=intr)
    return pred, gt


def _measurements(pred: Prediction, gt: np.ndarray) -> dict:
    intr = pred.intrinsics
    sparse = np.full_like(gt, np.nan)
    u, v, z = ground_truth_samples(gt, intr, "points:500", 0.02)
    sparse[v.astype(int), u.astype(int)] = z
    angles = np.linspace(-0.8, 0.8, 640)
    scan = LaserScanData(6.0 / np.cos(angles), -0.8, 1.6 / 639, 0.1, 30.0)
    return {"camera_height": None, "sparse_depth": sparse, "laser_scan": scan,
            "range": RangeData(float(gt[int(intr.cy), int(intr.cx)]), 0.05, 20.0)}


@benchmark("scale.per_frame")
def per_frame(quick: bool) -> list[dict]:
    """ScaleEngine.process per source and size, mean CPU ms per frame, one torch thread."""
    threads, rows = torch.get_num_threads(), []
    torch.set_num_threads(1)
    for width, height in ((320, 240),) if quick else ((320, 240), (640, 480)):
        pred, gt = _frame(width, height)
        for source, measurement in _measurements(pred, gt).items():
            engine = ScaleEngine(ScaleSettings(scale_source=source, camera_height=HEIGHT_M))
            _, state = engine.process(pred, measurement, 0.0)
            repeat = 5 if quick else 30
            start = time.process_time()
            for i in range(repeat):
                engine.process(pred, measurement, (i + 1) * 0.1)
            ms = (time.process_time() - start) * 1e3 / repeat
            rows.append({"name": f"scale {source} {width}x{height} (scale {state.scale:.3f}, {state.mode})",
                         "value": ms, "unit": "ms", "goal": f"<= {GOAL_MS:g}", "ok": bool(ms <= GOAL_MS)})
    torch.set_num_threads(threads)
    return rows

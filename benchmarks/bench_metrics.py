"""Evaluation cost: BSDS ODS/OIS/AP per frame, sparse thinning vs skimage, depth metrics."""
from __future__ import annotations

import time

import numpy as np
from scipy import ndimage
from skimage.morphology import thin as skimage_thin

from benchmarks.harness import benchmark, timeit
from modot_ros.evaluation import BoundaryEvaluator, boundary_nms, depth_metrics, thin


def _frames(n: int, height: int, width: int, seed: int = 0):
    """Boundary GT of random overlapping rectangles and a blurred, noisy probability map."""
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(n):
        labels = np.zeros((height, width), np.int32)
        for k in range(1, 7):
            r0, c0 = rng.integers(0, height - 10), rng.integers(0, width - 10)
            labels[r0:r0 + rng.integers(10, height // 2), c0:c0 + rng.integers(10, width // 2)] = k
        gt = (ndimage.maximum_filter(labels, 2) != labels)  # pixels on the occluding side
        prob = ndimage.gaussian_filter(gt.astype(float), 1.5)
        prob = np.clip(prob / prob.max() + 0.1 * rng.random(gt.shape), 0, 1)
        frames.append((prob, gt))
    return frames


@benchmark("metrics.bsds_ods_ois_ap")
def bsds_eval(quick: bool) -> list[dict]:
    """Time BoundaryEvaluator.add per frame (NMS + 99 thresholds x thinning + matching).

    Goal: 100 frames of 240x320 in well under a minute on one core (brief of issue 5).
    """
    n, height, width = (2, 120, 160) if quick else (20, 240, 320)
    frames = _frames(n, height, width)
    evaluator = BoundaryEvaluator()
    start = time.process_time()
    for prob, gt in frames:
        evaluator.add(prob, gt)
    per_frame_ms = (time.process_time() - start) * 1e3 / n
    per_100_s = per_frame_ms * 100 / 1e3
    ods = evaluator.result()["ods_f"]
    return [{"name": f"BSDS eval {width}x{height}, CPU ms/frame (ODS {ods:.3f})", "value": per_frame_ms,
             "unit": "ms"},
            {"name": f"BSDS eval 100 frames {width}x{height}, CPU s", "value": per_100_s, "unit": "s",
             "goal": "<= 30", "ok": bool(per_100_s <= 30)}]


@benchmark("metrics.thinning")
def thinning(quick: bool) -> list[dict]:
    """Sparse Guo-Hall thinning vs skimage.morphology.thin on an NMS edge map at threshold 0.1."""
    height, width = (120, 160) if quick else (240, 320)
    prob, _ = _frames(1, height, width)[0]
    mask = boundary_nms(prob) >= 0.1
    ours = timeit(lambda: thin(mask), repeat=5 if quick else 20)["median_ms"]
    ref = timeit(lambda: skimage_thin(mask), repeat=5 if quick else 20)["median_ms"]
    return [{"name": f"thin {width}x{height} (same output as skimage)", "value": ours, "unit": "ms",
             "ratio": ours / ref, "ratio_to": "skimage.morphology.thin", "goal": "<= 1.0",
             "ok": bool(ours <= ref)}]


@benchmark("metrics.depth")
def depth(quick: bool) -> list[dict]:
    """depth_metrics on one frame (median alignment)."""
    height, width = (120, 160) if quick else (480, 640)
    gt = np.random.default_rng(0).uniform(0.5, 10, (height, width))
    pred = gt * 1.1
    ms = timeit(lambda: depth_metrics(pred, gt, align="median"), repeat=5 if quick else 20)["median_ms"]
    return [{"name": f"depth_metrics {width}x{height}", "value": ms, "unit": "ms"}]

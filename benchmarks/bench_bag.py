"""Offline bag evaluation speed against the bag's own real time (640x480 @ 30 Hz).

Goal (issue 7): >= 5x real time on a GPU; on CPU the figure is reported without a goal. Three
rows from one run: the full evaluation (ground-truth metrics, output bag), the evaluation without
ground truth (inference + node outputs + output bag), and the estimator alone.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.harness import benchmark
from modot_ros.evaluation.bag_evaluation import evaluate_bag
from modot_ros.bags.ground_truth import GroundTruthBagWriter
from modot_ros.config import ModelConfig
from modot_ros.geometry import CameraIntrinsics
from modot_ros.inference import DepthBoundaryEstimator

HEIGHT, WIDTH, RATE_HZ = 480, 640, 30


def write_bench_bag(path: Path, frames: int) -> Path:
    """A 30 Hz bag of textured 640x480 frames with a depth step and its boundary as ground truth."""
    rng = np.random.default_rng(0)
    intr = CameraIntrinsics(525.0, 525.0, 319.5, 239.5, WIDTH, HEIGHT)
    with GroundTruthBagWriter(path, "mcap") as bag:
        for i in range(frames):
            depth = np.full((HEIGHT, WIDTH), 2.0, np.float32)
            edge = WIDTH // 3 + i
            depth[:, edge:] = 5.0
            boundary = np.zeros((HEIGHT, WIDTH), np.uint8)
            boundary[:, edge - 1] = 255
            bag.write_frame(1_000_000_000 + i * 1_000_000_000 // RATE_HZ,
                            rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8), intr, depth, boundary)
    return path


@benchmark("bag.offline_eval_realtime")
def offline_eval_realtime(quick: bool) -> list[dict]:
    """Frames evaluated per second of wall time, as a multiple of the bag's 30 Hz."""
    frames = 3 if quick else 30
    gt_frames = 2 if quick else 6  # BSDS thinning at 99 thresholds costs seconds per 640x480 frame
    device = "cuda" if torch.cuda.is_available() else "cpu"
    estimator = DepthBoundaryEstimator.from_random(ModelConfig(pretrained_encoder=False), device=device)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        bag = write_bench_bag(Path(tmp) / "bag", frames)
        for label, use_gt in (("with GT metrics + output bag", True), ("no GT: outputs + output bag", False)):
            count = gt_frames if use_gt else frames
            start = time.perf_counter()
            evaluate_bag(bag, Path(tmp) / f"out_{use_gt}", predictor=estimator, use_gt=use_gt, progress=False,
                         max_frames=count)
            factor = count / RATE_HZ / (time.perf_counter() - start)
            rows.append(_row(f"eval 640x480 {label}, {device}", factor, device))
    images = [np.zeros((HEIGHT, WIDTH, 3), np.uint8)] * 8
    intrs = [CameraIntrinsics(525.0, 525.0, 319.5, 239.5, WIDTH, HEIGHT)] * 8
    start = time.perf_counter()
    estimator.predict_batch(images, intrs, 8)
    rows.append(_row(f"estimator alone, batch 8, {device}", 8 / RATE_HZ / (time.perf_counter() - start), device))
    return rows


def _row(name: str, factor: float, device: str) -> dict:
    gpu = device == "cuda"
    return {"name": name, "value": factor, "unit": "x real time", "goal": ">= 5 (GPU)" if gpu else "report (CPU)",
            "ok": factor >= 5 if gpu else None}

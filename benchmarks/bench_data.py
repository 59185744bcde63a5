"""Training data loading per source kind: frames/s, against one training step of the default model.

Real frames are 640x480 (NYU: its 560x426 crop), brought to the 320x240 network input with OB
labels from depth and cut to the default 128x160 crop, as the trainer reads them (``workers: 0``,
one process). Bags are read once at start (their row is that one-off cost per frame); every
sample then comes from memory like the synthetic cache's. Goal: loading a batch of 8 from the
slowest kind takes under half a training step (forward + backward of Lite0 on 8 crops), so
loading does not dominate training even without DataLoader workers.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.bench_bag import write_bench_bag
from benchmarks.harness import benchmark, timeit
from modot_ros.config import ModelConfig
from modot_ros.model.network import DepthBoundaryNet
from training.config import SourceConfig
from training.data.folder import write_frame, write_intrinsics
from training.data.nyu import write_labeled_mat
from training.data.sources import real_source

SIZE, CROP, BATCH = (240, 320), (128, 160), 8


def _camera_frames(frames: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """640x480 (rgb, depth m) pairs: noise texture (PNG does not compress it away) over a depth ramp."""
    rng = np.random.default_rng(0)
    depth = np.broadcast_to(np.linspace(0.5, 6.0, 640, dtype=np.float32), (480, 640)).copy()
    return [(rng.integers(0, 256, (480, 640, 3), np.uint8), depth + i) for i in range(frames)]


def _folder(root: Path, frames: list, depth_format: str) -> Path:
    for i, (rgb, depth) in enumerate(frames):
        write_frame(root, f"{i:04d}", rgb, depth, depth_format=depth_format)
    write_intrinsics(root, {"fx": 525.0, "fy": 525.0, "cx": 319.5, "cy": 239.5})
    return root


def _sources(root: Path, frames: int) -> dict[str, SourceConfig]:
    bag = write_bench_bag(root / "bag", frames)
    camera = _camera_frames(frames)
    nyu = write_labeled_mat(root / "nyu.mat", [rgb for rgb, _ in camera], [depth for _, depth in camera])
    return {"folder png mm": SourceConfig(kind="folder", path=str(_folder(root / "png", camera, "png"))),
            "folder npy m": SourceConfig(kind="folder", path=str(_folder(root / "npy", camera, "npy"))),
            "nyu_mat": SourceConfig(kind="nyu_mat", path=str(nyu)),
            "bag 32FC1 + OB (in memory after start)": SourceConfig(kind="bag", path=str(bag))}


def _train_step_ms(batch: int, repeat: int) -> float:
    model = DepthBoundaryNet(ModelConfig(pretrained_encoder=False), pretrained=False).train()
    x = torch.rand(batch, 3, *CROP)

    def step():
        out = model(x, with_boundary=True)
        (out.depth_params.mean() + out.boundary_logits.mean()).backward()

    return timeit(step, warmup=1, repeat=repeat)["median_ms"]


@benchmark("data.load_fps")
def load_fps(quick: bool) -> list[dict]:
    """Samples per second of every real source kind, and the slowest one against a training step."""
    frames, draws = (2, 4) if quick else (8, 32)
    rows, slowest = [], 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for label, spec in _sources(Path(tmp), frames).items():
            start = time.perf_counter()
            dataset, _ = real_source(spec, SIZE, CROP, True, 0)
            opened = time.perf_counter() - start
            start = time.perf_counter()
            for draw in range(draws):
                dataset[draw]
            per_sample = (time.perf_counter() - start) / draws
            slowest = max(slowest, per_sample)
            rows.append({"name": f"load {label}", "value": 1.0 / per_sample, "unit": "fps"})
            if label.startswith("bag"):
                rows.append({"name": "bag read at start, per frame", "value": frames / opened, "unit": "fps"})
    step_ms = _train_step_ms(2 if quick else BATCH, 1 if quick else 3)
    batch_ms = slowest * 1e3 * (2 if quick else BATCH)
    ratio = batch_ms / step_ms
    rows.append({"name": "slowest kind: batch load / Lite0 train step", "value": batch_ms, "unit": "ms",
                 "ratio": ratio, "ratio_to": f"train step {step_ms:.0f} ms", "goal": "<= 0.5x", "ok": ratio <= 0.5})
    return rows

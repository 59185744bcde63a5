"""Preview grids: one row per frame, RGB | depth | OB over RGB | instances | normals."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from modot_ros.evaluation import plots as report


def colorize_instances(inst: np.ndarray) -> np.ndarray:
    """(H,W) int ids -> distinct colours (0 = sky/none is black)."""
    rng = np.random.default_rng(3)
    lut = rng.integers(40, 255, (int(inst.max()) + 1, 3)).astype(np.uint8)
    lut[0] = 0
    return lut[inst]


def frame_row(sample: dict) -> np.ndarray:
    """One preview row from a rendered frame dict of (C,H,W) tensors (batch dim removed)."""
    rgb = sample["rgb"].permute(1, 2, 0).cpu().numpy()
    rgb = rgb if rgb.dtype == np.uint8 else (rgb.clip(0, 1) * 255).astype(np.uint8)
    # the full range (no percentile clip): a preview should show the nearest and farthest surface
    depth = report.colorize_inverse_depth(sample["depth"][0].cpu().numpy(), percentiles=(0, 100))
    ob = sample["boundary"][0].cpu().numpy().astype(bool)
    over = (rgb * 0.35).astype(np.uint8)
    over[ob] = (255, 40, 40)
    inst = colorize_instances(sample["instance"][0].cpu().numpy())
    normal = ((sample["normal"].permute(1, 2, 0).cpu().numpy() * 0.5 + 0.5) * 255).clip(0, 255).astype(np.uint8)
    gap = np.full((rgb.shape[0], 4, 3), 255, np.uint8)
    return np.concatenate([rgb, gap, depth, gap, over, gap, inst, gap, normal], axis=1)


def save_grid(rows: list[np.ndarray], path: str | Path) -> Path:
    """Stack rows with white gaps and write an RGB PNG."""
    gap = np.full((4, rows[0].shape[1], 3), 255, np.uint8)
    grid = np.concatenate([x for r in rows for x in (r, gap)][:-1], axis=0)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.ascontiguousarray(grid[..., ::-1]))
    return path


def unbatch(out: dict, b: int) -> dict:
    return {k: v[b] for k, v in out.items() if isinstance(v, torch.Tensor)}

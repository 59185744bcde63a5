"""Writer/reader of rendered frames on disk: one compressed .npz per frame + PNG previews + index.json.

Layout: ``<root>/index.json`` ({"version", "height", "width", "split", "frames": [{"name", "seed",
"frame"}]}), ``<root>/<name>.npz`` (rgb uint8 HxWx3, depth float32 m NaN invalid, boundary uint8,
instance int32, normal float16 3xHxW, K float64 3x3, pose float64 4x4) and ``<root>/<name>_rgb.png``.
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import torch
from tqdm import tqdm

from training.data.synth.api import render_seeds
from training.data.synth.scene import SPLITS

INDEX_VERSION = 1


def write_dataset(root: str | Path, split: str, count: int, height: int, width: int,
                  start: int = 0, device: str = "cpu", batch: int = 8) -> Path:
    """Render ``count`` key frames of ``split`` (seeds from its range) to ``root``."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {sorted(SPLITS)}")
    lo, hi = SPLITS[split]
    if lo + start + count > hi:
        raise ValueError(f"{split} has only {hi - lo} seeds; start+count={start + count} is too many")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    seeds = list(range(lo + start, lo + start + count))
    frames = []
    for i in tqdm(range(0, count, batch), desc=f"write {split}", unit="batch", leave=False):
        out = render_seeds(seeds[i:i + batch], height, width, device)
        for j, seed in enumerate(seeds[i:i + batch]):
            name = f"{split}_{seed:08d}"
            rgb = out["rgb"][j].permute(1, 2, 0).cpu().numpy()
            np.savez_compressed(root / f"{name}.npz", rgb=rgb, depth=out["depth"][j, 0].cpu().numpy(),
                                boundary=out["boundary"][j, 0].cpu().numpy(),
                                instance=out["instance"][j, 0].cpu().numpy(),
                                normal=out["normal"][j].cpu().numpy().astype(np.float16),
                                K=out["K"][j].double().cpu().numpy(), pose=out["pose"][j].cpu().numpy())
            cv2.imwrite(str(root / f"{name}_rgb.png"), rgb[..., ::-1])
            frames.append({"name": name, "seed": seed, "frame": 0})
    index = {"version": INDEX_VERSION, "height": height, "width": width, "split": split, "frames": frames}
    (root / "index.json").write_text(json.dumps(index, indent=1))
    return root


class FrameFolder(torch.utils.data.Dataset):
    """Reader of a folder written by ``write_dataset``: same dict layout as SyntheticDepthDataset."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        index_path = self.root / "index.json"
        if not index_path.is_file():
            raise FileNotFoundError(f"{index_path} missing; write the folder with "
                                    "`python -m training.data.synth write`")
        self.index = json.loads(index_path.read_text())
        if self.index.get("version") != INDEX_VERSION:
            raise ValueError(f"{index_path} has version {self.index.get('version')}, expected {INDEX_VERSION}")

    def __len__(self) -> int:
        return len(self.index["frames"])

    def __getitem__(self, i: int) -> dict:
        with np.load(self.root / f"{self.index['frames'][i]['name']}.npz") as z:
            return {
                "rgb": torch.from_numpy(z["rgb"]).permute(2, 0, 1).contiguous(),
                "depth": torch.from_numpy(z["depth"])[None],
                "boundary": torch.from_numpy(z["boundary"])[None],
                "instance": torch.from_numpy(z["instance"])[None],
                "normal": torch.from_numpy(z["normal"].astype(np.float32)),
                "K": torch.from_numpy(z["K"]).float(),
                "pose": torch.from_numpy(z["pose"]),
            }

"""On-the-fly torch Dataset of synthetic frames (deterministic per index)."""
from __future__ import annotations

import torch

from training.data.synth.api import render_seeds
from training.data.synth.scene import SPLITS


class SyntheticDepthDataset(torch.utils.data.Dataset):
    """Item i = key frame of seed ``SPLITS[split][0] + i``, rendered on ``device``.

    Returns rgb uint8 (3,H,W) (float in [0,1] if ``float_rgb``), depth (1,H,W) m NaN invalid,
    boundary (1,H,W) uint8 {0,1}, orientation (1,H,W), instance (1,H,W) int32, normal (3,H,W),
    K (3,3) float32, pose (4,4) float64 camera-to-world. With ``sequence=True`` also
    ``source_rgb`` (2,3,H,W) and ``source_pose`` (2,4,4) of frames ``-stride`` and ``+stride``
    (30 Hz video along the same trajectory) and ``source_depth`` (2,1,H,W).
    """

    def __init__(self, split: str = "train", size: tuple[int, int] = (192, 256), length: int | None = None,
                 sequence: bool = False, stride: int = 2, device: str | torch.device = "cpu",
                 float_rgb: bool = False, noise: bool = True) -> None:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; use one of {sorted(SPLITS)}")
        lo, hi = SPLITS[split]
        length = hi - lo if length is None else int(length)
        if not 0 < length <= hi - lo:
            raise ValueError(f"length must be in 1..{hi - lo} for split {split}, got {length}")
        self.split, self.size, self.length, self.first_seed = split, tuple(size), length, lo
        self.sequence, self.stride, self.device, self.float_rgb, self.noise = sequence, stride, device, float_rgb, noise

    def __len__(self) -> int:
        return self.length

    def seed(self, index: int) -> int:
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for length {self.length}")
        return self.first_seed + index

    def __getitem__(self, index: int) -> dict:
        return {k: v[0] for k, v in self.get_batch([index]).items()}

    def get_batch(self, indices: list[int]) -> dict:
        """Items ``indices`` rendered in ONE batched call.

        Use this on a GPU: ~B x faster than per-item rendering. Same keys as an item, with a leading
        batch dimension.
        """
        seeds = [self.seed(int(i)) for i in indices]
        H, W = self.size
        frames = [0, -self.stride, self.stride] if self.sequence else [0]
        n = len(frames)
        out = render_seeds([s for s in seeds for _ in frames], H, W, self.device, frames * len(seeds), self.noise)
        if self.float_rgb:
            out["rgb"] = out["rgb"].float() / 255.0
        out = {k: v.view(len(seeds), n, *v.shape[1:]) for k, v in out.items()}
        batch = {k: v[:, 0] for k, v in out.items()}
        if self.sequence:
            batch["source_rgb"], batch["source_pose"] = out["rgb"][:, 1:], out["pose"][:, 1:]
            batch["source_depth"] = out["depth"][:, 1:]
        batch["seed"] = torch.tensor(seeds)
        return batch

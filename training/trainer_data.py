"""Training data for the trainer: a rendered frame cache and a random-crop dataset over it.

Rendering is the slow part on a CPU (about 0.3 s per 320x240 frame), so frames are rendered
once into a cache file (``render_cache``) and training draws random crops and flips from it.
Crops, unlike resizes, keep the focal length in pixels: a network trained on 128x160 crops of
320x240 renders sees objects at the same pixel scale as at inference on 320x240 images, so its
canonical depth (``modot_ros.model.canonical``) means the same thing in training and at runtime.

Dataset protocol (what ``training.trainer`` consumes; any ``torch.utils.data.Dataset`` with
these keys works, e.g. a future ``training.synth`` dataset):
``rgb`` (3,H,W) float [0,1], ``depth`` (1,H,W) metres NaN invalid, ``boundary`` (1,H,W) float
{0,1}, ``K`` (3,3) float32 for this crop; with sequences also ``sources`` (S,3,H,W) and
``T_source_from_target`` (S,4,4).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler
from tqdm import tqdm

from training.reprojection import relative_pose

CACHE_FORMAT = "modot_ros.train_cache/1"
_FLIP = torch.diag(torch.tensor([-1.0, 1.0, 1.0, 1.0]))


class DataError(ValueError):
    """A cache file or dataset request that cannot be served."""


def split_seeds(split: str, n: int) -> list[int]:
    """The first ``n`` scene seeds of ``split`` (the synthetic engine's fixed seed ranges)."""
    from training.synth.scene import SPLITS

    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; allowed: {sorted(SPLITS)}")
    lo, hi = SPLITS[split]
    if n > hi - lo:
        raise DataError(f"split {split} has only {hi - lo} seeds, asked for {n}")
    return list(range(lo, lo + n))


def _render(seeds: list[int], height: int, width: int, offsets: tuple[int, ...]) -> dict:
    from training.synth.render import render_batch
    from training.synth.sample import sample_scene

    scenes = [sample_scene(s) for s in seeds]
    key = render_batch(scenes, height, width, seeds=seeds)
    out = {"rgb": [key["rgb"]], "depth": key["depth"].half(), "boundary": key["boundary"],
           "K": key["K"], "pose": [key["pose"]]}
    for off in offsets:
        poses = [s.trajectory.frame_pose(off) for s in scenes]
        src = render_batch(scenes, height, width, poses=poses, seeds=[s * 7 + off for s in seeds])
        out["rgb"].append(src["rgb"])
        out["pose"].append(src["pose"])
    out["rgb"] = torch.stack(out["rgb"], 1)  # (B, 1+S, 3, H, W): key frame first
    out["pose"] = torch.stack(out["pose"], 1)
    return out


def render_cache(path: str | Path, split: str, n: int, height: int = 240, width: int = 320,
                 source_offsets: tuple[int, ...] = (-2, 2), batch: int = 4) -> Path:
    """Render ``n`` scenes of ``split`` (key frame + source frames) into one cache file."""
    seeds = split_seeds(split, n)
    parts = [_render(seeds[i:i + batch], height, width, tuple(source_offsets))
             for i in tqdm(range(0, n, batch), desc=f"render {split} {height}x{width}")]
    cache = {k: torch.cat([p[k] for p in parts]) for k in parts[0]}
    cache |= {"format": CACHE_FORMAT, "split": split, "seeds": seeds,
              "source_offsets": list(source_offsets)}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(cache, tmp)
    tmp.replace(path)
    return path


def ensure_cache(path: str | Path, split: str, n: int, source_offsets: tuple[int, ...]) -> Path:
    """Render the cache at ``path`` (320x240) unless it exists; returns the path."""
    path = Path(path)
    return path if path.is_file() else render_cache(path, split, n, source_offsets=source_offsets)


def load_cache(path: str | Path) -> dict:
    """Read a cache written by ``render_cache`` (weights_only: plain tensors and lists)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"frame cache {path} does not exist; build it with "
                        f"python -m training.trainer_data --split SPLIT --n N --out {path}")
    cache = torch.load(path, map_location="cpu", weights_only=True)
    if cache.get("format") != CACHE_FORMAT:
        raise DataError(f"{path} is not a {CACHE_FORMAT} frame cache")
    return cache


class CropDataset(Dataset):
    """Random crops with optional horizontal flips from a frame cache, indexed by *draw id*.

    Training (``random=True``): draw id ``d`` reads frame ``perm_e[d % n]`` of epoch
    ``e = d // n`` (a seeded permutation per epoch) with a crop drawn from ``(seed, d)``, so any
    process, worker or resumed run gets the same sample for the same draw id. Evaluation
    (``random=False``): draw id = frame index, centred crop (or the full frame), no flip.
    crop: (height, width) or None for full frames. sequence: also return the source frames
    and ``T_source_from_target`` (exact poses).
    """

    def __init__(self, cache: dict, crop: tuple[int, int] | None = None, flip: bool = True,
                 sequence: bool = False, random: bool = True, seed: int = 0) -> None:
        self.cache, self.sequence, self.flip, self.random = cache, sequence, flip, random
        self.n = int(cache["depth"].shape[0])
        full = tuple(cache["depth"].shape[-2:])
        self.crop = tuple(crop) if crop else full
        if self.crop[0] > full[0] or self.crop[1] > full[1]:
            raise DataError(f"crop {self.crop} is larger than the cached frames {full}")
        if sequence and cache["rgb"].shape[1] < 2:
            raise DataError("sequence=True needs a cache rendered with source frames")
        self.seed = seed
        self._perms: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return self.n if not self.random else 2**62  # training draws ids from a sampler

    def _frame(self, draw: int) -> int:
        if not self.random:
            return draw % self.n
        epoch = draw // self.n
        if epoch not in self._perms:
            self._perms = {epoch: np.random.default_rng([self.seed, epoch]).permutation(self.n)}
        return int(self._perms[epoch][draw % self.n])

    def _window(self, draw: int) -> tuple[int, int, bool]:
        (h, w), (H, W) = self.crop, self.cache["depth"].shape[-2:]
        if not self.random:
            return (H - h) // 2, (W - w) // 2, False
        g = np.random.default_rng([self.seed, draw, 1])
        return (int(g.integers(0, H - h + 1)), int(g.integers(0, W - w + 1)),
                bool(self.flip and g.random() < 0.5))

    def __getitem__(self, draw: int) -> dict:
        i = self._frame(draw)
        y0, x0, flip = self._window(draw)
        h, w = self.crop
        win = (Ellipsis, slice(y0, y0 + h), slice(x0, x0 + w))
        frames = self.cache["rgb"][i][win].float() / 255.0  # (1+S, 3, h, w)
        K = self.cache["K"][i].clone()
        K[0, 2] -= x0
        K[1, 2] -= y0
        sample = {"rgb": frames[0], "depth": self.cache["depth"][i][win].float(),
                  "boundary": self.cache["boundary"][i][win].float(), "K": K}
        if self.sequence:
            pose = self.cache["pose"][i]
            sample["sources"] = frames[1:]
            sample["T_source_from_target"] = torch.stack(
                [relative_pose(pose[0:1], pose[s:s + 1])[0] for s in range(1, pose.shape[0])])
        return _flipped(sample) if flip else sample


class StepBatchSampler(Sampler):
    """Batches of draw ids for steps ``start .. stop-1``; rank r of w takes its own slice."""

    def __init__(self, batch_size: int, start: int, stop: int, rank: int = 0, world: int = 1):
        self.batch_size, self.start, self.stop, self.rank, self.world = (
            batch_size, start, stop, rank, world)

    def __len__(self) -> int:
        return max(0, self.stop - self.start)

    def __iter__(self):
        for step in range(self.start, self.stop):
            first = (step * self.world + self.rank) * self.batch_size
            yield list(range(first, first + self.batch_size))


def _flipped(sample: dict) -> dict:
    """Mirror a sample left-right: images flip, cx mirrors, poses conjugate with diag(-1,1,1)."""
    out = {k: v.flip(-1) if k in ("rgb", "depth", "boundary", "sources") else v
           for k, v in sample.items()}
    K = sample["K"].clone()
    K[0, 2] = sample["rgb"].shape[-1] - 1 - K[0, 2]
    out["K"] = K
    if "T_source_from_target" in sample:
        out["T_source_from_target"] = _FLIP @ sample["T_source_from_target"] @ _FLIP
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Render a synthetic frame cache for training.")
    parser.add_argument("--split", default="train", help="train | val | test")
    parser.add_argument("--n", type=int, required=True, help="number of scenes")
    parser.add_argument("--out", required=True, help="cache file to write (.pt)")
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--offsets", type=int, nargs="*", default=[-2, 2],
                        help="source frame offsets at 30 Hz (empty: key frames only)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    render_cache(args.out, args.split, args.n, args.height, args.width, tuple(args.offsets))


if __name__ == "__main__":
    main()

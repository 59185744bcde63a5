"""Training data for the trainer: a rendered frame cache and a random-crop dataset over it.

Rendering is the slow part on a CPU (about 0.3 s per 320x240 frame), so frames are rendered
once into a cache file (``render_cache``) and training draws random crops and flips from it.
Crops, unlike resizes, keep the focal length in pixels: a network trained on 128x160 crops of
320x240 renders sees objects at the same pixel scale as at inference on 320x240 images, so its
canonical depth (``modot_ros.model.canonical``) means the same thing in training and at runtime.

Dataset protocol (what ``training.trainer`` consumes; any ``torch.utils.data.Dataset`` with
these keys works, e.g. a future ``training.data.synth`` dataset):
``rgb`` (3,H,W) float [0,1], ``depth`` (1,H,W) metres NaN invalid, ``boundary`` (1,H,W) float
{0,1} (NaN: no label, real sources only), ``K`` (3,3) float32 for this crop; with sequences
also ``sources`` (S,3,H,W) and ``T_source_from_target`` (S,4,4). Real frames (folder, bag, NYU)
reach this protocol through ``real_frames`` and ``sources``.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler
from tqdm import tqdm

from modot_ros.checkpoint import CheckpointError, read_plain
from training.losses.reprojection import relative_pose

CACHE_FORMAT = "modot_ros.train_cache/2"
_FLIP = torch.diag(torch.tensor([-1.0, 1.0, 1.0, 1.0]))


class DataError(ValueError):
    """A cache file or dataset request that cannot be served."""


def split_seeds(split: str, n: int) -> list[int]:
    """The first ``n`` scene seeds of ``split`` (the synthetic engine's fixed seed ranges)."""
    from training.data.synth.scene import SPLITS

    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; allowed: {sorted(SPLITS)}")
    lo, hi = SPLITS[split]
    if n > hi - lo:
        raise DataError(f"split {split} has only {hi - lo} seeds, asked for {n}")
    return list(range(lo, lo + n))


def pack_boundary(boundary: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W) {0,1} -> (N, ceil(H*W/8)) uint8 bit-packed (8x smaller in RAM and on disk)."""
    flat = boundary.reshape(boundary.shape[0], -1).to(torch.uint8).numpy()
    return torch.from_numpy(np.packbits(flat, axis=1))


def unpack_boundary(packed: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Inverse of ``pack_boundary`` for one frame: (ceil(H*W/8),) -> (1, H, W) uint8."""
    bits = np.unpackbits(packed.numpy(), count=height * width)
    return torch.from_numpy(bits.reshape(1, height, width))


def _render(seeds: list[int], height: int, width: int, offsets: tuple[int, ...],
            profiles: tuple[str, ...], rooms: str, device: str = "cpu") -> dict:
    """Key frame and source frames of each seed in one ``synth.api`` call (shared exposure)."""
    from training.data.synth.api import render_seeds

    frames = [0, *offsets]
    out = render_seeds([s for s in seeds for _ in frames], height, width, device=device,
                       frames=frames * len(seeds), profiles=profiles, rooms=rooms)
    out = {k: v.cpu() for k, v in out.items()}
    n, f = len(seeds), len(frames)
    key = slice(0, None, f)
    return {"rgb": out["rgb"].view(n, f, 3, height, width), "depth": out["depth"][key].half(),
            "boundary": pack_boundary(out["boundary"][key]), "K": out["K"][key],
            "pose": out["pose"].view(n, f, 4, 4)}


def render_cache(path: str | Path, split: str, n: int, height: int = 240, width: int = 320,
                 source_offsets: tuple[int, ...] = (), batch: int = 8,
                 profiles: tuple[str, ...] | None = None, device: str = "cpu",
                 rooms: str = "classic") -> Path:
    """Render ``n`` scenes of ``split`` (key frame + source frames) into one compact cache file.

    Stored compactly: uint8 RGB, fp16 depth, bit-packed OB labels. Supervised training needs only
    key frames (``source_offsets=()``); self-supervised training needs the source frames.
    """
    from training.data.synth.profiles import DEFAULT_PROFILES

    profiles = tuple(profiles or DEFAULT_PROFILES)
    seeds = split_seeds(split, n)
    parts = [_render(seeds[i:i + batch], height, width, tuple(source_offsets), profiles, rooms, device)
             for i in tqdm(range(0, n, batch), desc=f"render {split} {height}x{width}",
                           mininterval=10)]
    cache = {k: torch.cat([p[k] for p in parts]) for k in parts[0]}
    cache |= {"format": CACHE_FORMAT, "split": split, "seeds": seeds, "size": [height, width],
              "source_offsets": list(source_offsets), "profiles": list(profiles), "rooms": rooms}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(cache, tmp)
    tmp.replace(path)
    return path


def _usable(path: Path, n: int, size: tuple[int, int]) -> bool:
    """A cache of the current format, frame size ``size`` and at least ``n`` scenes (else re-rendered)."""
    if not path.is_file():
        return False
    try:
        cache = load_cache(path)
    except DataError:
        return False
    return len(cache["seeds"]) >= n and tuple(cache["depth"].shape[-2:]) == tuple(size)


def ensure_cache(path: str | Path, split: str, n: int, source_offsets: tuple[int, ...] = (),
                 device: str = "cpu", size: tuple[int, int] = (240, 320)) -> Path:
    """Render the cache at ``path`` (``size`` = height, width) unless a current one with >= n scenes exists."""
    path = Path(path)
    if _usable(path, n, size):
        return path
    return render_cache(path, split, n, *size, source_offsets=source_offsets, device=device)


def cache_frames(cache: dict, n: int | None = None) -> list[dict]:
    """Return the first ``n`` key frames of a cache as numpy dicts.

    Keys: rgb (H,W,3) uint8, depth (H,W) m, boundary (H,W) bool, K (3,3) float64, seed.
    """
    H, W = cache["depth"].shape[-2:]
    return [{"rgb": cache["rgb"][i, 0].permute(1, 2, 0).numpy(),
             "depth": cache["depth"][i, 0].float().numpy(),
             "boundary": unpack_boundary(cache["boundary"][i], H, W)[0].numpy().astype(bool),
             "K": cache["K"][i].double().numpy(), "seed": cache["seeds"][i]}
            for i in range(len(cache["seeds"]) if n is None else n)]


def load_cache(path: str | Path, split: str = "SPLIT", n: int | str = "N") -> dict:
    """Read a cache written by ``render_cache`` (weights_only: plain tensors and lists).

    ``split`` and ``n`` fill in the command that (re)builds the cache in the error line.
    """
    path = Path(path)
    command = f"python -m training.data.frames --split {split} --n {n} --out {path}"
    if not path.is_file():
        # rendering takes minutes, so a missing cache is never built unasked
        raise DataError(f"frame cache {path} does not exist; build it first: {command}")
    try:
        cache = read_plain(path)
    except CheckpointError as error:
        raise DataError(f"frame cache {path}: {error.problem.split(';')[0]}; render it again with "
                        f"{command}") from None
    if cache.get("format") != CACHE_FORMAT:
        raise DataError(f"{path} is not a {CACHE_FORMAT} frame cache (format "
                        f"{cache.get('format')!r}); render it again with {command}")
    return cache


def epoch_frame(n: int, seed: int, draw: int, perms: dict[int, np.ndarray]) -> int:
    """Frame of draw id ``draw``: ``perm_e[draw % n]`` of epoch ``e = draw // n`` (seeded).

    ``perms`` caches the current epoch's permutation between calls.
    """
    epoch = draw // n
    if epoch not in perms:
        perms.clear()
        perms[epoch] = np.random.default_rng([seed, epoch]).permutation(n)
    return int(perms[epoch][draw % n])


class CropDataset(Dataset):
    """Random crops with optional horizontal flips from a frame cache, indexed by *draw id*.

    Training (``random=True``): draw id ``d`` reads frame ``perm_e[d % n]`` of epoch
    ``e = d // n`` (a seeded permutation per epoch) with a crop drawn from ``(seed, d)``, so any
    process, worker or resumed run gets the same sample for the same draw id. Evaluation
    (``random=False``): draw id = frame index, centred crop (or the full frame), no flip.
    crop: (height, width) or None for full frames. sequence: also return the source frames
    and ``T_source_from_target`` (exact poses), and ``camera_height`` (the cache's, else NaN).
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
        return epoch_frame(self.n, self.seed, draw, self._perms)

    def _window(self, draw: int) -> tuple[int, int, bool]:
        (h, w), (H, W) = self.crop, self.cache["depth"].shape[-2:]
        if not self.random:
            return (H - h) // 2, (W - w) // 2, False
        g = np.random.default_rng([self.seed, draw, 1])
        return (int(g.integers(0, H - h + 1)), int(g.integers(0, W - w + 1)),
                bool(self.flip and g.random() < 0.5))

    def __getitem__(self, draw: int) -> dict:
        return self.sample(self._frame(draw), draw)

    def sample(self, i: int, draw: int) -> dict:
        """Frame ``i`` with the crop and flip of draw id ``draw``."""
        y0, x0, flip = self._window(draw)
        h, w = self.crop
        win = (Ellipsis, slice(y0, y0 + h), slice(x0, x0 + w))
        frames = self.cache["rgb"][i][win].float() / 255.0  # (1+S, 3, h, w)
        K = self.cache["K"][i].clone()
        K[0, 2] -= x0
        K[1, 2] -= y0
        H, W = self.cache["depth"].shape[-2:]
        boundary = unpack_boundary(self.cache["boundary"][i], H, W).float()
        if "boundary_known" in self.cache:  # real sources: NaN = no label, ignored by the OB loss
            known = unpack_boundary(self.cache["boundary_known"][i], H, W).bool()
            boundary = torch.where(known, boundary, torch.nan)
        sample = {"rgb": frames[0], "depth": self.cache["depth"][i][win].float(),
                  "boundary": boundary[win], "K": K}
        if self.sequence:
            pose = self.cache["pose"][i]
            sample["sources"] = frames[1:]
            sample["T_source_from_target"] = torch.stack(
                [relative_pose(pose[0:1], pose[s:s + 1])[0] for s in range(1, pose.shape[0])])
            heights = self.cache.get("camera_height")  # metres; NaN: unknown (the engine's poses are metric)
            sample["camera_height"] = heights[i] if heights is not None else torch.tensor(torch.nan)
        return _flipped(sample) if flip else sample


class RenderDataset(Dataset):
    """Training frames rendered on the fly (GPU machines): draw id -> one train-split scene.

    The scene of draw ``d`` is drawn from ``(seed, d)``, so a resumed run sees the same frames.
    ``__getitems__`` renders a whole batch in one ``synth.api`` call; crops and flips then follow
    ``CropDataset``. Samples come back on the CPU like a cache's (the trainer moves them).
    """

    def __init__(self, scenes: int, size: tuple[int, int], crop: tuple[int, int] | None,
                 flip: bool, seed: int = 0, device: str = "cpu",
                 profiles: tuple[str, ...] | None = None, rooms: str = "classic") -> None:
        from training.data.synth.profiles import DEFAULT_PROFILES

        self.first, self.scenes = split_seeds("train", 1)[0], int(scenes)
        self.size, self.crop, self.flip, self.seed, self.device = tuple(size), crop, flip, seed, device
        self.profiles, self.rooms = tuple(profiles or DEFAULT_PROFILES), rooms

    def __len__(self) -> int:
        return 2**62

    def scene_seed(self, draw: int) -> int:
        return self.first + int(np.random.default_rng([self.seed, draw, 2]).integers(self.scenes))

    def __getitems__(self, draws: list[int]) -> list[dict]:
        from training.data.synth.api import render_seeds

        H, W = self.size
        out = render_seeds([self.scene_seed(d) for d in draws], H, W, device=self.device,
                           profiles=self.profiles, rooms=self.rooms)
        batch = {"rgb": out["rgb"].cpu()[:, None], "depth": out["depth"].cpu(),
                 "boundary": pack_boundary(out["boundary"].cpu()), "K": out["K"].cpu(),
                 "pose": out["pose"].cpu()[:, None], "seeds": list(draws)}
        crops = CropDataset(batch, self.crop, self.flip, random=True, seed=self.seed)
        return [crops.sample(i, d) for i, d in enumerate(draws)]

    def __getitem__(self, draw: int) -> dict:
        return self.__getitems__([draw])[0]


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
    from training.data.synth.sample import ROOM_STYLES

    parser = argparse.ArgumentParser(description="Render a synthetic frame cache for training.")
    parser.add_argument("--split", default="train", help="train | val | test")
    parser.add_argument("--n", type=int, required=True, help="number of scenes")
    parser.add_argument("--out", required=True, help="cache file to write (.pt)")
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--offsets", type=int, nargs="*", default=[],
                        help="source frame offsets at 30 Hz for self-supervised training, e.g. "
                             "-2 2 (default: key frames only, all supervised training needs)")
    parser.add_argument("--profiles", nargs="*", default=None,
                        help="camera deployment profiles (training/data/synth/profiles.py; default: "
                             "indoor_robot handheld vehicle)")
    parser.add_argument("--rooms", default="classic", choices=ROOM_STYLES,
                        help="room style (training/data/synth/sample.py): classic, or furnished "
                             "(corridors, plain walls, furniture against the walls)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    render_cache(args.out, args.split, args.n, args.height, args.width, tuple(args.offsets),
                 profiles=tuple(args.profiles) if args.profiles else None, rooms=args.rooms)


if __name__ == "__main__":
    main()

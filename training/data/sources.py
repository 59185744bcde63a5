"""Training sources by config (``data.sources``), mixed per batch by weight, and evaluation frames.

Kinds: ``synthetic`` (the engine; built by the trainer exactly as without ``data.sources``),
``folder`` (``data.folder``), ``bag`` (``data.bag_frames``; self-supervised: video triplets,
``data.bag_video``) and ``nyu_mat`` (``data.nyu``). Real
frames reach the trainer through ``data.real_frames``, with OB labels of their own, from their
depth (``data.ob_from_depth``) or none (the OB loss then ignores them). Every problem found while
opening a source is a ``DataError`` naming the file, which ``training.train`` prints as one line.
"""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
from torch.utils.data import Dataset

from training.data.bag_frames import bag_frames
from training.data.bag_video import video_source
from training.data.folder import FolderReader
from training.data.frames import CropDataset, DataError
from training.data.nyu import NyuReader
from training.data.ob_from_depth import boundary_from_depth
from training.data.real_frames import LazyFrames, check_frame, preload, resolve_ob

READERS = {"folder": FolderReader, "nyu_mat": NyuReader}


def _bag_topics(spec) -> dict:
    return {"image": spec.image, "camera_info": spec.camera_info, "depth": spec.depth,
            "boundary": spec.boundary}


def real_source(spec, size: tuple[int, int], crop: tuple[int, int], flip: bool,
                seed: int, sequence: bool = False) -> tuple[Dataset, dict]:
    """(training dataset, description) of a folder / bag / nyu_mat source config.

    sequence: self-supervised training; a bag then gives frame triplets with their motion.
    """
    where = f"{spec.kind} source {spec.path}"
    if not Path(spec.path).exists():
        raise DataError(f"{where} does not exist")
    if crop[0] > size[0] or crop[1] > size[1]:
        raise DataError(f"crop {crop} is larger than the network input {size} real frames are resized to")
    if spec.kind == "bag" and sequence:
        return video_source(spec, size, crop, flip, seed)
    if spec.kind == "bag":
        frames = bag_frames(spec.path, spec.stride, spec.max_frames, _bag_topics(spec))
        first = next(frames)
        ob = resolve_ob(spec.ob, first["has_labels"], where)
        cache = preload(itertools.chain([first], frames), size, ob, spec.edge_rule, where)
        dataset, n = CropDataset(cache, crop, flip, random=True, seed=seed), len(cache["seeds"])
    else:
        reader = READERS[spec.kind](spec.path, spec.stride, spec.max_frames)
        first = check_frame(reader.read(0), reader.name(0))  # a bad dataset fails here, not mid-run
        ob = resolve_ob(spec.ob, reader.has_labels, where)
        dataset, n = LazyFrames(reader, size, crop, flip, seed, ob, spec.edge_rule), len(reader)
    h, w = first["rgb"].shape[:2]
    return dataset, {"kind": spec.kind, "path": str(spec.path), "weight": spec.weight, "ob": ob,
                     "frames": n, "stride": spec.stride, "frame_size": [h, w], "resized_to": list(size)}


class MixedDataset(Dataset):
    """Draw ids -> samples of several sources; every batch holds each source's share by weight.

    Batch ``b`` (draw ids ``b*B .. b*B+B-1``, ``frames.StepBatchSampler``) gets floor(B*w_k)
    samples of source k, the remainder drawn from (seed, b) with the fractional shares, in a
    shuffled order; a source sees the draw id itself, so its crops follow its own rules.
    """

    def __init__(self, datasets: list[Dataset], weights: list[float], batch_size: int, seed: int) -> None:
        self.datasets, self.batch_size, self.seed = datasets, batch_size, seed
        self.weights = np.asarray(weights, np.float64) / float(np.sum(weights))
        self._plans: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return 2**62

    def plan(self, batch: int) -> np.ndarray:
        """Source index of each position of batch ``batch``."""
        if batch not in self._plans:
            share = self.weights * self.batch_size
            counts = np.floor(share).astype(int)
            rng = np.random.default_rng([self.seed, batch, 3])
            extra = self.batch_size - counts.sum()
            if extra:
                fraction = share - counts
                counts[rng.choice(len(counts), extra, replace=False, p=fraction / fraction.sum())] += 1
            self._plans = {batch: rng.permutation(np.repeat(np.arange(len(counts)), counts))}
        return self._plans[batch]

    def source_of(self, draw: int) -> int:
        batch, position = divmod(draw, self.batch_size)
        return int(self.plan(batch)[position])

    def __getitem__(self, draw: int) -> dict:
        return self.datasets[self.source_of(draw)][draw]

    def __getitems__(self, draws: list[int]) -> list[dict]:
        """Each source's draws in one call where it batches (on-the-fly rendering)."""
        out: dict[int, dict] = {}
        by_source = {}
        for draw in draws:
            by_source.setdefault(self.source_of(draw), []).append(draw)
        for k, ids in by_source.items():
            dataset = self.datasets[k]
            samples = dataset.__getitems__(ids) if hasattr(dataset, "__getitems__") else [dataset[d] for d in ids]
            out |= dict(zip(ids, samples))
        return [out[d] for d in draws]

    def skipped(self) -> dict[str, str]:
        """Unreadable frames skipped so far (frame name -> problem)."""
        return {k: v for d in self.datasets for k, v in getattr(d, "skipped", {}).items()}


def evaluation_frames(kind: str, path: str, n: int) -> list[dict]:
    """The first ``n`` frames of a folder / bag / nyu_mat at their own size, for ``FrameScorer``.

    Without OB labels ``boundary`` is the depth-edge proxy (``boundary_from_depth``, unknown = 0),
    so OB scores then measure depth-edge recall, as on the Middlebury frame.
    """
    if kind not in (*READERS, "bag"):
        raise DataError(f"unknown source kind {kind!r}; allowed: bag, {', '.join(READERS)}")
    if not Path(path).exists():
        raise DataError(f"{kind} source {path} does not exist")
    if kind == "bag":
        frames = list(itertools.islice(bag_frames(path), n))
    else:
        reader = READERS[kind](path)
        frames = [check_frame(reader.read(i), reader.name(i)) for i in range(min(n, len(reader)))]
    for frame in frames:
        frame.pop("has_labels", None)
        if frame["boundary"] is None:
            frame["boundary"] = np.nan_to_num(boundary_from_depth(frame["depth"])) > 0.5
        frame["boundary"] = frame["boundary"].astype(np.uint8)
    return frames

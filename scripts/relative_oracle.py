"""Relative-depth maps made from a recording's ground truth: a stand-in for another model, for studies.

    python -m scripts.relative_oracle RECORDING OUT [--blur 2] [--warp 0.1] [--seed 0]

No relative-depth model can be downloaded here, so ``modot-adapt --relative`` is measured with maps
made from the recording's own depth as a good relative model would give them: inverse depth with
an unknown scale and shift per frame (random), blurred (``--blur`` px: such models are soft at
edges) and bent by a smooth multiplicative error (``--warp``: ±10 % over the image by default). It
is an upper bound on what a real model gives; say so beside any number it produces. The maps are
named as ``modot-adapt`` names the frames (``OUT/NAME.npy``).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from modot_ros.depth_units import valid_depth_mask
from training.data.frames import DataError
from training.data.recording import read_recording


def oracle_map(depth: np.ndarray, rng: np.random.Generator, blur: float, warp: float) -> np.ndarray:
    """Affine inverse depth of ``depth`` (metres), blurred and smoothly bent; NaN stays NaN."""
    valid = valid_depth_mask(depth)
    inverse = np.where(valid, 1.0 / np.where(valid, depth, 1.0), np.nan).astype(np.float32)
    if blur > 0:
        filled = np.where(valid, inverse, np.nanmedian(inverse)).astype(np.float32)
        inverse = np.where(valid, cv2.GaussianBlur(filled, (0, 0), blur), np.nan)
    height, width = depth.shape
    coarse = rng.uniform(-warp, warp, (3, 4)).astype(np.float32)  # a smooth field over the image
    bend = 1.0 + cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    scale, shift = rng.uniform(0.5, 5.0), rng.uniform(0.0, 0.5)
    return (scale * inverse * bend + shift).astype(np.float32)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("recording")
    p.add_argument("output")
    p.add_argument("--blur", type=float, default=2.0)
    p.add_argument("--warp", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-frames", type=int, default=300, help="as modot-adapt's --max-frames")
    args = p.parse_args(argv)
    try:
        frames = read_recording(args.recording, "depth", args.max_frames).frames
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    for frame in frames:
        np.save(out / f"{frame['name']}.npy", oracle_map(frame["truth"], rng, args.blur, args.warp))
    print(f"wrote {len(frames)} maps to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

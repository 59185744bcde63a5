"""Run-time depth from a lidar row on a held-out tail: the row alone, networks scaled by it, maps fitted to it.

    python -m scripts.row_baselines RECORDING [--checkpoint LABEL=PATH ...] [--relative MAPS]

The recording (a bag with a LaserScan and a depth image, as the synthetic patrols have) is split
as ``modot-adapt`` splits it (last 20 % after a 5 % gap); on each held-out frame, given that
frame's lidar row, it scores (metric AbsRel against the depth image): the row extruded down every
column, each network (``shipped`` = the packaged weights) scaled by the median ratio of the row to
its prediction, and, with ``--relative``, the frame's relative map fitted to the row
(``data.relative_depth``). Prints the mean per source and the frames each scored.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

from modot_ros.depth_units import valid_depth_mask
from modot_ros.evaluation.depth_errors import depth_metrics
from training.data.frames import DataError
from training.data.recording import read_recording, split_by_time
from training.data.relative_depth import RelativeDepthModel, aligned_depth


def abs_rel(depth: np.ndarray, truth: np.ndarray) -> float:
    """Metric AbsRel by the project's one scorer (``evaluation.depth_errors``)."""
    return depth_metrics(depth, truth)["abs_rel"]


def extruded(row: np.ndarray) -> np.ndarray:
    """Each column at its row's depth (interpolated between the row's returns)."""
    line = row[np.nonzero(np.isfinite(row).any(1))[0][0]]
    known = np.nonzero(np.isfinite(line))[0]
    return np.broadcast_to(np.interp(np.arange(row.shape[1]), known, line[known]), row.shape)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("recording")
    p.add_argument("--checkpoint", action="append", default=[], metavar="LABEL=PATH",
                   help="a network to scale by the row (default: shipped)")
    p.add_argument("--relative", help="relative maps (a folder or an .onnx file), fitted to the row")
    p.add_argument("--relative-kind", default="disparity")
    args = p.parse_args(argv)
    from modot_ros.inference import DepthBoundaryEstimator

    try:
        scans = read_recording(args.recording, "scan").frames
        truth = {f["name"]: f["truth"] for f in read_recording(args.recording, "depth").frames}
        relative = RelativeDepthModel(args.relative) if args.relative else None
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    networks = {label: DepthBoundaryEstimator.from_checkpoint(None if path == "shipped" else path, device="cpu",
                                                              warmup=0)
                for label, path in (c.split("=", 1) for c in args.checkpoint or ["shipped=shipped"])}
    scores: dict[str, list[float]] = {"row extruded": []} | {f"{n} x row scale": [] for n in networks}
    for frame in split_by_time(scans, 0.2, 0.05).heldout:
        row, gt = frame["depth"], truth[frame["name"]]
        if not valid_depth_mask(row).any():
            continue
        scores["row extruded"].append(abs_rel(extruded(row), gt))
        for name, network in networks.items():
            depth = network.predict(frame["rgb"], frame["intrinsics"]).depth
            both = valid_depth_mask(row) & valid_depth_mask(depth)
            scores[f"{name} x row scale"].append(abs_rel(depth * np.median(row[both] / depth[both]), gt))
        if relative is not None:
            fit = aligned_depth(relative(frame), row, args.relative_kind)
            if fit is not None:
                scores.setdefault("relative fitted to the row", []).append(abs_rel(fit[0], gt))
    for name, values in scores.items():
        print(f"{name:<40} metric AbsRel {np.mean(values):.3f} ({len(values)} frames)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How much metric scale each source gives back: ``python -m training.scale_report --output build/scale``.

On the synthetic test split (exact depth, known camera height), the real dev frames and
Middlebury, the shipped model's depth is scored (metric AbsRel / δ1, ``depth_errors``) with:

* ``model``: its own scale; ``aligned``: the per-image median-scaled ceiling (what a perfect
  scale source could reach, the ``abs_rel_med`` of every other report);
* sparse sources sampled from the ground truth with 2 % range noise
  (``modot_ros.scale.samples.ground_truth_samples``): one centre ``beam``, one ``lidar_row``,
  ``points:50`` and ``points:500``, each fitted by ``modot_ros.scale.fit_points`` with the
  prediction's OB map and confidence, as the node does;
* ``camera height +0 / +2 / +5 cm`` (synthetic only): the ground-plane fit with the known height
  off by that much, the up direction from the frame's pose (what an IMU gives).

An untrusted fit falls back to the model's scale, as the node does without a history; ``trusted``
is the share of frames whose fit was trusted. ``--bag`` adds frame-to-frame scale jitter (std of
the log scale between consecutive frames) on a bag with GT depth, with and without smoothing.
Writes ``scale_report.md``, ``scale_report.json`` and ``scale_report.png`` under ``--output``.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from modot_ros.evaluation.depth_errors import depth_metrics
from modot_ros.inference import DepthBoundaryEstimator
from modot_ros.scale import FitOptions, ScaleFit, ScaleTracker, fit_camera_height, fit_points, ground_truth_samples
from training.data.frames import DataError
from training.evaluate import split_frames

SPARSE = ("beam", "lidar_row", "points:50", "points:500")
HEIGHT_ERRORS_M = (0.0, 0.02, 0.05)
NOISE = 0.02
PASS_RATIO = 1.10  # the bar: metric AbsRel within 10 % of the aligned ceiling


def sources(frame: dict) -> list[str]:
    heights = [f"camera height +{e * 100:.0f} cm" for e in HEIGHT_ERRORS_M] if "height" in frame else []
    return ["model", "aligned", *SPARSE, *heights]


def fit_source(source: str, frame: dict, pred, seed: int) -> ScaleFit | None:
    """The fit of ``source`` on one frame (None: model / aligned, which need none)."""
    depth, intr = pred.depth, frame["intrinsics"]
    if source.startswith("camera height"):
        error = float(source.split("+")[1].split()[0]) / 100
        return fit_camera_height(depth, intr, frame["height"] + error, pred.boundary, pred.confidence,
                                 up=frame["up"])
    if source in SPARSE:
        u, v, z = ground_truth_samples(frame["depth"], intr, source, NOISE, seed)
        options = FitOptions(min_inliers=1 if source == "beam" else FitOptions.min_inliers, seed=seed)
        return fit_points(depth, u, v, z, pred.boundary, pred.confidence, options)
    return None


def score_frame(source: str, frame: dict, pred, draws: int) -> dict[str, float]:
    """Mean metrics over ``draws`` sample draws (one for sources without randomness)."""
    gt = frame["depth"]
    if source in ("model", "aligned"):
        m = depth_metrics(pred.depth, gt, align="median" if source == "aligned" else "none")
        return {"abs_rel": m["abs_rel"], "delta1": m["delta1"], "trusted": 1.0}
    rows = []
    for seed in range(draws if source in SPARSE else 1):
        fit = fit_source(source, frame, pred, seed)
        m = depth_metrics(fit.apply(pred.depth) if fit.trusted else pred.depth, gt)
        rows.append({"abs_rel": m["abs_rel"], "delta1": m["delta1"], "trusted": float(fit.trusted)})
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}


def score_set(frames: list[dict], estimator: DepthBoundaryEstimator, draws: int, name: str) -> dict[str, dict]:
    """Per source: mean AbsRel, δ1, trusted share and AbsRel over the aligned ceiling."""
    per: dict[str, list[dict]] = {}
    for frame in tqdm(frames, desc=name, mininterval=10):
        pred = estimator.predict(frame["rgb"], frame["intrinsics"])
        for source in sources(frame):
            per.setdefault(source, []).append(score_frame(source, frame, pred, draws))
    table = {s: {k: float(np.nanmean([r[k] for r in rows])) for k in rows[0]} for s, rows in per.items()}
    ceiling = table["aligned"]["abs_rel"]
    for row in table.values():
        row["vs_aligned"] = row["abs_rel"] / ceiling
    return table


def scale_jitter(bag: str, estimator: DepthBoundaryEstimator, spec: str, smoothing: float,
                 max_frames: int) -> dict[str, float]:
    """Frame-to-frame scale jitter of ``spec`` fits on a bag with GT depth, per-frame and smoothed.

    ``*_jitter``: std of the frame-to-frame change of log scale; ``*_abs_rel``: mean metric AbsRel
    with that scale (the model's own and the aligned ceiling for reference).
    """
    from modot_ros.bags.io import iter_frames, open_bag, select_topics

    trackers = {"raw": ScaleTracker(smoothing=1.0), "smoothed": ScaleTracker(smoothing=smoothing)}
    logs, errors = {k: [] for k in trackers}, {k: [] for k in (*trackers, "model", "aligned")}
    with open_bag(bag) as reader:
        for frame in iter_frames(reader, select_topics(reader, use_gt=True)):
            if frame.index >= max_frames:
                break
            pred = estimator.predict(frame.rgb, frame.intrinsics)
            u, v, z = ground_truth_samples(frame.gt_depth, frame.intrinsics, spec, NOISE, frame.index)
            fit = fit_points(pred.depth, u, v, z, pred.boundary, pred.confidence)
            for name, tracker in trackers.items():
                state = tracker.update(fit, frame.stamp_ns / 1e9)
                logs[name].append(math.log(state.scale))
                errors[name].append(depth_metrics(pred.depth * state.scale, frame.gt_depth)["abs_rel"])
            errors["model"].append(depth_metrics(pred.depth, frame.gt_depth)["abs_rel"])
            errors["aligned"].append(depth_metrics(pred.depth, frame.gt_depth, align="median")["abs_rel"])
    out = {f"{k}_jitter": float(np.std(np.diff(v))) for k, v in logs.items()}
    out |= {f"{k}_abs_rel": float(np.mean(v)) for k, v in errors.items()}
    return out | {"frames": len(logs["raw"]), "smoothing": smoothing, "source": spec}


def markdown(results: dict[str, dict], jitter: dict | None) -> str:
    lines = ["| data set | scale source | AbsRel | δ1 | AbsRel / aligned | within 10 % | trusted |",
             "| --- | --- | --- | --- | --- | --- | --- |"] if results else []
    for name, table in results.items():
        for source, row in table.items():
            ok = "—" if source in ("model", "aligned") else ("yes" if row["vs_aligned"] <= PASS_RATIO else "no")
            lines.append(f"| {name} | {source} | {row['abs_rel']:.3f} | {row['delta1']:.3f} | "
                         f"{row['vs_aligned']:.2f} | {ok} | {row['trusted']:.0%} |")
    if jitter:
        lines += ["", f"Scale jitter on {jitter['bag']} ({jitter['source']}, {jitter['frames']} frames): std of the "
                  f"frame-to-frame change of log scale {jitter['raw_jitter']:.4f} with per-frame fits, "
                  f"{jitter['smoothed_jitter']:.4f} smoothed (scale_smoothing {jitter['smoothing']}); metric AbsRel "
                  f"{jitter['raw_abs_rel']:.3f} / {jitter['smoothed_abs_rel']:.3f} "
                  f"(model {jitter['model_abs_rel']:.3f}, aligned {jitter['aligned_abs_rel']:.3f})."]
    return "\n".join(lines)


def plot(results: dict[str, dict], path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4 * len(results), 3.6), layout="constrained")
    for i, (name, table) in enumerate(results.items()):
        ax = fig.add_subplot(1, len(results), i + 1)
        names = [s for s in table if s != "aligned"]
        ax.barh(names, [table[s]["abs_rel"] for s in names], color="tab:blue")
        ax.axvline(table["aligned"]["abs_rel"], color="k", ls="--", label="scale-aligned ceiling")
        ax.axvline(PASS_RATIO * table["aligned"]["abs_rel"], color="tab:red", ls=":", label="ceiling + 10 %")
        ax.set_title(name)
        ax.set_xlabel("metric AbsRel")
        ax.invert_yaxis()
    ax.legend(fontsize=7)
    FigureCanvasAgg(fig).print_png(str(path))


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--output", default="build/scale", help="report folder")
    p.add_argument("--checkpoint", help="runtime checkpoint (default: the packaged weights)")
    p.add_argument("--synthetic-cache", default="build/cache/test_240x320.pt",
                   help="test-split frame cache (rendered there when missing, as training.evaluate does)")
    p.add_argument("--synthetic-n", type=int, default=64, help="synthetic frames to score")
    p.add_argument("--real", default="folder:/work/shared/data/real_indoor_dev",
                   help="real frames with GT (training.real_frames_report --source form)")
    p.add_argument("--sets", default="synthetic,real,middlebury",
                   help="data sets to score, comma-separated ('' with --bag: the jitter only)")
    p.add_argument("--draws", type=int, default=5, help="sample draws per frame for the sparse sources")
    p.add_argument("--bag", help="a bag with GT depth for the jitter measurement (e.g. build/demo/input_bag)")
    p.add_argument("--bag-frames", type=int, default=60)
    p.add_argument("--smoothing", type=float, default=0.3, help="weight of a new fit (node: scale_smoothing)")
    p.add_argument("--threads", type=int, default=1, help="CPU threads of the forward")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from training.real_frames_report import real_frames

    try:
        estimator = DepthBoundaryEstimator.from_checkpoint(args.checkpoint, device="cpu", warmup=0,
                                                           threads=args.threads)
        wanted, sets = set(filter(None, args.sets.split(","))), {}
        if "synthetic" in wanted:
            sets["synthetic test"] = split_frames("test", args.synthetic_n, args.synthetic_cache)
        if "real" in wanted:
            sets["real dev"] = real_frames(args.real)[0]
        if "middlebury" in wanted:
            sets["Middlebury"] = real_frames("middlebury")[0]
    except (DataError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    results = {name: score_set(frames, estimator, args.draws, name) for name, frames in sets.items()}
    jitter = None
    if args.bag:
        jitter = scale_jitter(args.bag, estimator, "points:50", args.smoothing, args.bag_frames) | {"bag": args.bag}
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    text = markdown(results, jitter)
    (out / "scale_report.md").write_text(text + "\n")
    (out / "scale_report.json").write_text(json.dumps({"results": results, "jitter": jitter}, indent=2))
    if results:
        plot(results, out / "scale_report.png")
    print(text)
    print(f"wrote {out / 'scale_report.md'}, .json, .png")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Why not just filter the cloud? Edge-aware clouds vs outlier filters, side by side (issue 22).

    python -m benchmarks --only clouds                               # quick: 3 synthetic frames
    python -m benchmarks.bench_clouds --full --output build/clouds   # table, JSON, side view

Every method starts from the same prediction of the shipped weights, median-aligned to GT
(``cloud_compare.frame_inputs``); the filters run on the dominant-mode read-out, i.e. the cloud
``edge_points=keep`` publishes. Data: the synthetic test split (exact GT), the Middlebury
motorcycle, ``real_indoor_dev`` and the demo bag (when present). Times are per frame, one thread
(run with OMP_NUM_THREADS=1: open3d's filters use OpenMP, PCL's do not), measured side by side.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from scipy.spatial import cKDTree

from benchmarks import cloud_compare as cc
from benchmarks.harness import benchmark, timeit
from modot_ros.evaluation.cloud_metrics import flying_mask, nearest_distances
from modot_ros.evaluation.plots import point_cloud_side_view, write_markdown_table
from modot_ros.geometry import CameraIntrinsics, backproject
from modot_ros.inference import DepthBoundaryEstimator

TEST_CACHE = "build/cache/test_240x320.pt"
REAL_DEV = "/work/shared/data/real_indoor_dev"
DEMO_BAG = "build/demo/input_bag"
SIZES = ((320, 240), (640, 480))


def synthetic_frames(n: int) -> list[dict]:
    from training.data.frames import cache_frames, ensure_cache, load_cache

    cache = load_cache(ensure_cache(TEST_CACHE, "test", n))
    frames = cache_frames(cache, n)
    return [{"rgb": f["rgb"], "depth": f["depth"], "intrinsics": CameraIntrinsics.from_matrix(
        f["K"], f["depth"].shape[1], f["depth"].shape[0])} for f in frames]


def datasets(full: bool, n_synthetic: int) -> dict[str, list[dict]]:
    """Name -> frames (rgb, depth m NaN invalid, intrinsics); the real sets only in the full run."""
    out = {"synthetic test": synthetic_frames(n_synthetic)}
    if not full:
        return out
    from training.data.bag_frames import bag_frames
    from training.data.frames import DataError
    from training.real_frames_report import real_frames

    # real frames are scored at 320 px wide: open3d's radius search on a 640x480 cloud of a 1 m
    # scene visits thousands of neighbours per point and one frame takes minutes on this CPU
    out["Middlebury"] = [at_width(f, SIZES[0][0]) for f in real_frames("middlebury")[0]]
    out["real_indoor_dev"] = [at_width(f, SIZES[0][0]) for f in real_frames(f"folder:{REAL_DEV}")[0]]
    if Path(DEMO_BAG).exists():  # made by `make demo`; the bag carries the engine's GT depth
        try:
            out["demo bag"] = list(bag_frames(DEMO_BAG, stride=15, max_frames=10))
        except DataError as error:
            print(f"demo bag left out: {error}", file=sys.stderr)
    return out


def at_width(frame: dict, width: int) -> dict:
    """``frame`` resized to ``width`` px, aspect kept (RGB area-averaged, GT depth nearest, K scaled)."""
    height = round(frame["depth"].shape[0] * width / frame["depth"].shape[1])
    return {"rgb": cv2.resize(frame["rgb"], (width, height), interpolation=cv2.INTER_AREA),
            "depth": cv2.resize(frame["depth"], (width, height), interpolation=cv2.INTER_NEAREST),
            "intrinsics": frame["intrinsics"].scaled_to(width, height)}


def run_dataset(frames: list[dict], estimator, methods: list[cc.Method]) -> tuple[dict, list[dict]]:
    """Aggregated scores of every method, and the per-frame scores."""
    per_frame = []
    for frame in frames:
        inputs = cc.frame_inputs(estimator.predict(frame["rgb"], frame["intrinsics"]), frame["depth"])
        per_frame.append(cc.score_frame(inputs, frame["depth"], methods))
    return cc.aggregate(per_frame), per_frame


def timings(frame: dict, estimator, methods: list[cc.Method], sizes, repeat: int) -> dict[str, dict]:
    """Method -> {"WxH": ms} on ``frame`` resized to each size (the network run at that size).

    Above the first size only ours and one middle setting per filter family are timed (a filter's
    cost barely depends on its thresholds; the radius filter's grows with its radius).
    """
    out: dict[str, dict] = {m.name: {} for m in methods}
    for width, height in sizes:
        if (width, height) != sizes[0]:
            methods = [m for m in methods if m.family == "ours" or m.name in cc.TIMED_SETTINGS]
        rgb = cv2.resize(frame["rgb"], (width, height), interpolation=cv2.INTER_AREA)
        gt = cv2.resize(frame["depth"], (width, height), interpolation=cv2.INTER_NEAREST)
        inputs = cc.frame_inputs(estimator.predict(rgb, frame["intrinsics"].scaled_to(width, height)), gt)
        for name, ms in cc.time_methods(inputs, methods, repeat).items():
            out[name][f"{width}x{height}"] = ms
    return out


def kdtree_comparison(frame: dict, repeat: int) -> dict[str, float]:
    """ms of the Chamfer's two nearest-neighbour queries: scipy cKDTree vs open3d, same clouds."""
    gt = backproject(frame["depth"], frame["intrinsics"]).reshape(-1, 3)
    gt = gt[np.isfinite(gt).all(axis=1)].astype(np.float64)
    pred = gt * np.random.default_rng(0).normal(1.0, 0.02, (len(gt), 1))  # a noisy copy

    def scipy_pair():
        return cKDTree(gt).query(pred)[0], cKDTree(pred).query(gt)[0]

    def open3d_pair():
        return nearest_distances(pred, gt), nearest_distances(gt, pred)

    assert np.allclose(scipy_pair()[0], open3d_pair()[0])  # the same distances, or the race is moot
    return {"scipy_ms": timeit(scipy_pair, 1, repeat)["median_ms"],
            "open3d_ms": timeit(open3d_pair, 1, repeat)["median_ms"], "points": float(len(gt))}


def verdict(summary: dict, families: dict, times: dict, reference: str = cc.REFERENCE) -> dict:
    """Ours vs the filter that removes most flying points at ours' completeness (the issue's goal)."""
    best = {f: n for f, n in cc.best_filter_at_equal_completeness(summary, families, reference).items() if n}
    if not best:
        return {"reference": reference, "filter": None}
    name = max(best.values(), key=lambda n: summary[n]["flying_removed"])
    removed = summary[name]["flying_removed"]
    size = f"{SIZES[0][0]}x{SIZES[0][1]}"
    return {"reference": reference, "filter": name, "per_family": best,
            "removed_ratio": summary[reference]["flying_removed"] / removed if removed > 0 else float("inf"),
            "residual_ratio": summary[name]["flying_points"] / max(1.0, summary[reference]["flying_points"]),
            "time_ratio": times[reference][size] / times[name][size]}


def table_rows(summary: dict, times: dict) -> list[dict]:
    rows = []
    for name, s in summary.items():
        rows.append({"method": name, "flying pts": int(s["flying_points"]),
                     "removed": f"{100 * s['removed_share']:.0f} %", "completeness": s["completeness"],
                     "kept": s["kept"], "Chamfer m": s["chamfer"], "F@5%": s["fscore"],
                     **{f"ms {size}": ms for size, ms in times.get(name, {}).items()}})
    return rows


def side_view(frame: dict, estimator, methods: list[cc.Method], shown: list[str], path: Path) -> Path:
    """One side view (z right, up up) of the same column strip for GT and each shown method.

    The strip is 13 columns around the column with most flying points in the unfiltered cloud;
    flying points are red.
    """
    inputs = cc.frame_inputs(estimator.predict(frame["rgb"], frame["intrinsics"]), frame["depth"])
    by_name = {m.name: m for m in methods}
    gt, intr = frame["depth"], frame["intrinsics"]
    base = by_name[cc.BASELINE].run(inputs)
    column = int(np.argmax(flying_mask(base, gt).sum(axis=0)))
    strip = np.s_[:, max(0, column - 6): column + 7]
    gt_xyz = backproject(gt, intr)[strip]
    finite = gt_xyz[np.isfinite(gt_xyz).all(axis=-1)]
    z_range = (finite[:, 2].min() * 0.9, finite[:, 2].max() * 1.1)
    y_range = (-finite[:, 1].max() - 0.1, -finite[:, 1].min() + 0.1)
    panels = [point_cloud_side_view(gt_xyz, np.full(gt_xyz.shape, (40, 90, 200), np.uint8), 320, 260,
                                    "ground truth", 3, z_range, y_range)]
    for name in shown:
        depth = by_name[name].run(inputs)
        colours = np.where(flying_mask(depth, gt)[strip][..., None], (220, 30, 30), (120, 120, 120)).astype(np.uint8)
        title = f"{name}\n{int(flying_mask(depth, gt).sum())} flying in the frame"
        panels.append(point_cloud_side_view(backproject(depth, intr)[strip], colours, 320, 260, title, 3,
                                            z_range, y_range))
    panels += [np.full_like(panels[0], 255)] * (-len(panels) % 3)
    grid = np.concatenate([np.concatenate(panels[i:i + 3], axis=1) for i in range(0, len(panels), 3)], axis=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 80])
    return path


def shown_methods(summary: dict, families: dict) -> list[str]:
    """Unfiltered, mean read-out, ours drop / snap, and each filter family's best at equal completeness."""
    best = cc.best_filter_at_equal_completeness(summary, families)
    per_metric = cc.best_per_metric(summary, families)
    filters = [best[f] or per_metric[f]["fscore"] for f in sorted(best)]
    return [cc.BASELINE, "mean / keep", cc.REFERENCE, "mixture / snap", *filters]


def run(full: bool, n_synthetic: int, output: Path | None, picture: Path | None) -> dict:
    estimator = DepthBoundaryEstimator.from_checkpoint(None, device="cpu", warmup=0)
    methods = cc.methods(full)
    families = {m.name: m.family for m in methods}
    data = datasets(full, n_synthetic)
    first = data["synthetic test"][0]
    times = timings(first, estimator, methods, SIZES if full else SIZES[:1], 3 if full else 2)
    report = {"kdtree": kdtree_comparison(first, 3 if full else 2), "datasets": {}}
    for name, frames in data.items():
        start = time.perf_counter()
        summary, per_frame = run_dataset(frames, estimator, methods)
        report["datasets"][name] = {
            "frames": len(frames), "summary": summary, "per_frame": per_frame,
            "verdicts": [verdict(summary, families, times, ref) for ref in (cc.REFERENCE, "mixture / snap")],
            "best_per_metric": cc.best_per_metric(summary, families),
            "seconds": time.perf_counter() - start}
        print(f"{name}: {len(frames)} frames in {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
        report["times_ms"] = times
        if output is not None:  # after each data set: a slow real set must not cost the others
            write_outputs(report, times, output)
        if picture is not None and name == "synthetic test":
            worst = int(np.argmax([f[cc.BASELINE]["flying_points"] for f in per_frame]))
            side_view(frames[worst], estimator, methods, shown_methods(summary, families), picture)
    return report


def write_outputs(report: dict, times: dict, output: Path) -> None:
    """clouds.md (one table per data set, verdict lines) and clouds.json (everything)."""
    output.mkdir(parents=True, exist_ok=True)
    lines = []
    for name, result in report["datasets"].items():
        lines += [f"### {name} ({result['frames']} frames)", ""]
        lines.append(write_markdown_table(table_rows(result["summary"], times), float_format="{:.3f}"))
        for v in result["verdicts"]:
            if v["filter"]:
                lines.append(f"* {v['reference']} vs best filter at equal completeness ({v['filter']}): removes "
                             f"{v['removed_ratio']:.2f}x the flying points it removes (leaves "
                             f"1/{v['residual_ratio']:.1f} of what it leaves) in {v['time_ratio']:.3f}x its time")
            else:
                lines.append(f"* {v['reference']}: no filter setting keeps its completeness")
        lines.append("")
    kd = report["kdtree"]
    lines.append(f"KD-tree (Chamfer, {int(kd['points'])} points each way): scipy cKDTree {kd['scipy_ms']:.1f} ms, "
                 f"open3d {kd['open3d_ms']:.1f} ms")
    (output / "clouds.md").write_text("\n".join(lines) + "\n")
    (output / "clouds.json").write_text(json.dumps(report, indent=1, default=float))


@benchmark("clouds.edge_aware_vs_filters")
def quick_bench(quick: bool) -> list[dict]:
    """Flying points removed and time per frame, ours vs the best filter at equal completeness.

    Always the quick version (3 synthetic frames, short sweeps, 320x240), also in ``make bench``:
    the full comparison takes half an hour and has its own command (module doc).
    """
    report = run(full=False, n_synthetic=3, output=None, picture=None)
    result = report["datasets"]["synthetic test"]
    rows = []
    for v in result["verdicts"]:
        if not v["filter"]:
            rows.append({"name": f"{v['reference']}: no filter as complete", "value": float("nan"), "unit": ""})
            continue
        rows.append({"name": f"flying removed, {v['reference']} / {v['filter']}", "value": v["removed_ratio"],
                     "unit": "x", "goal": ">= 2", "ok": bool(v["removed_ratio"] >= 2)})
        rows.append({"name": f"time 320x240, {v['reference']} / {v['filter']}", "value": v["time_ratio"],
                     "unit": "x", "goal": "<= 0.1", "ok": bool(v["time_ratio"] <= 0.1)})
    kd = report["kdtree"]
    rows.append({"name": "Chamfer NN queries, open3d", "value": kd["open3d_ms"], "unit": "ms",
                 "ratio": kd["open3d_ms"] / kd["scipy_ms"], "ratio_to": "scipy cKDTree"})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="every data set and the full parameter sweeps")
    parser.add_argument("--synthetic", type=int, default=12, help="synthetic test frames (full run)")
    parser.add_argument("--output", default="build/clouds", help="folder for clouds.md / clouds.json")
    parser.add_argument("--picture", default=None, help="side-view JPEG (default OUTPUT/clouds_side_view.jpg)")
    args = parser.parse_args(argv)
    output = Path(args.output)
    run(args.full, args.synthetic if args.full else 3, output, Path(args.picture or output / "clouds_side_view.jpg"))
    print((output / "clouds.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())

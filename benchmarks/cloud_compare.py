"""Every cloud method on the same predicted depth: ours (edge-aware) and the filters users run.

A *method* maps one frame's shared inputs (``FrameInputs``: the median-aligned prediction and its
range-checked read-outs) to the depth its cloud back-projects, NaN = no point. Scoring is
``cloud_quality`` for all, and the reference for "flying points removed" is the unfiltered cloud
of the dominant-mode read-out (``mixture / keep``), the depth every filter starts from.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

import numpy as np

from benchmarks.harness import timeit
from modot_ros.depth_units import invalidate_out_of_range
from modot_ros.evaluation.cloud_metrics import cloud_quality
from modot_ros.evaluation.depth_errors import depth_metrics
from modot_ros.inference import Prediction
from modot_ros.pipeline.cloud_filters import median_filter, radius_filter, statistical_filter, veiling_filter
from modot_ros.pipeline.edge_points import edge_mask
from modot_ros.pipeline.frame_outputs import points_depth
from modot_ros.pipeline.options import OutputOptions

BASELINE = "mixture / keep"
REFERENCE = "mixture / drop"  # the node's default cloud
# completeness may be this much below ours and still count as "equal" (0.5 % of GT points)
COMPLETENESS_SLACK = 0.005
# the filter settings timed at 640x480 too (one per family)
TIMED_SETTINGS = ("statistical nb=20 std=1", "radius nb=8 r=0.05 m", "median 3x3", "veiling t=0.1")
METRICS = ("flying_points", "n_band", "completeness", "kept", "chamfer", "fscore")


@dataclass(frozen=True)
class FrameInputs:
    """One frame, every method's common input: prediction scaled by the median GT ratio."""

    prediction: Prediction
    readouts: dict[str, np.ndarray]  # edge_mode -> range-checked read-out, as the node publishes it


@dataclass(frozen=True)
class Method:
    name: str
    family: str  # ours / statistical / radius / median / veiling
    run: Callable[[FrameInputs], np.ndarray]


def frame_inputs(prediction: Prediction, gt: np.ndarray) -> FrameInputs:
    """Align the prediction to GT by the median ratio (the scorer's convention), for every method.

    Flying points and 5 % completeness are judged against metric GT; without alignment a
    monocular scale error would make every method equally "incomplete" on real frames.
    """
    scale = depth_metrics(prediction.depth, gt, align="median")["scale"]
    scale = scale if np.isfinite(scale) else 1.0
    params = None if prediction.params is None else prediction.params.copy()
    if params is not None:
        params[: min(4, len(params))] /= scale  # inverse-depth means and sigmas
    scaled = dataclasses.replace(prediction, depth=prediction.depth * scale, params=params,
                                 depth_mean=None if prediction.depth_mean is None else prediction.depth_mean * scale)
    limits = OutputOptions()
    readouts = {"mixture": invalidate_out_of_range(scaled.depth, limits.min_depth, limits.max_depth)}
    if scaled.depth_mean is not None:
        readouts["mean"] = invalidate_out_of_range(scaled.depth_mean, limits.min_depth, limits.max_depth)
    return FrameInputs(scaled, readouts)


def _ours(edge_mode: str, edge_points: str, min_confidence: float = 0.0, veiling: float = 0.0) -> Method:
    options = OutputOptions(edge_mode=edge_mode, edge_points=edge_points, min_confidence=min_confidence,
                            veiling_threshold=veiling)

    def run(x: FrameInputs) -> np.ndarray:
        p = x.prediction
        edges = edge_mask(p.ambiguity, p.boundary, options.ambiguity_threshold, options.occlusion_threshold)
        return points_depth(x.readouts[edge_mode], edges, p, options)

    suffix = (f", min_confidence {min_confidence:g}" if min_confidence else "") + \
        (f" + veiling t={veiling:g}" if veiling else "")
    return Method(f"{edge_mode} / {edge_points}{suffix}", "ours", run)


def methods(full: bool) -> list[Method]:
    """Ours (edge_points x edge_mode; min_confidence; the veiling post-filter) and the swept filters."""
    ours = [_ours(mode, points) for mode in ("mixture", "mean") for points in ("keep", "drop", "snap")]
    # confidence is max weight x exp(-sigma/mu): drop already removes max weight < 0.7, so the
    # thresholds that matter start near 0.7
    ours += [_ours("mixture", points, c) for points in ("keep", "drop") for c in ((0.7, 0.8, 0.9) if full else (0.8,))]
    ours += [_ours("mixture", "drop", veiling=t) for t in ((0.1, 0.2) if full else (0.2,))]
    base = "mixture"
    stat = [(8, 1.0), (20, 0.5), (20, 1.0), (20, 2.0), (50, 1.0)] if full else [(20, 1.0), (20, 2.0)]
    radius = [(4, 0.02), (8, 0.02), (8, 0.05), (16, 0.05), (16, 0.1)] if full else [(8, 0.05), (16, 0.05)]
    filters = [Method(f"statistical nb={n} std={s:g}", "statistical",
                      lambda x, n=n, s=s: statistical_filter(x.readouts[base], x.prediction.intrinsics, n, s))
               for n, s in stat]
    filters += [Method(f"radius nb={n} r={r:g} m", "radius",
                       lambda x, n=n, r=r: radius_filter(x.readouts[base], x.prediction.intrinsics, n, r))
                for n, r in radius]
    filters += [Method(f"median {k}x{k}", "median", lambda x, k=k: median_filter(x.readouts[base], k))
                for k in (3, 5)]
    filters += [Method(f"veiling t={t:g}", "veiling", lambda x, t=t: veiling_filter(x.readouts[base], t))
                for t in ((0.02, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3) if full else (0.05, 0.1, 0.2))]
    return ours + filters


def score_frame(inputs: FrameInputs, gt: np.ndarray, all_methods: list[Method]) -> dict[str, dict]:
    """Method name -> ``cloud_quality`` of its cloud on this frame."""
    intr = inputs.prediction.intrinsics
    return {m.name: cloud_quality(m.run(inputs), gt, intr) for m in all_methods}


def aggregate(per_frame: list[dict[str, dict]]) -> dict[str, dict]:
    """Over frames: flying points and band pixels summed, the other metrics averaged."""
    out = {}
    for name in per_frame[0]:
        rows = [frame[name] for frame in per_frame]
        agg = {k: float(sum(r[k] for r in rows)) for k in ("flying_points", "n_band")}
        agg |= {k: float(np.nanmean([r[k] for r in rows])) for k in ("completeness", "kept", "chamfer", "fscore")}
        out[name] = agg
    base = out[BASELINE]["flying_points"]
    for agg in out.values():
        agg["flying_removed"] = base - agg["flying_points"]
        agg["removed_share"] = agg["flying_removed"] / base if base else float("nan")
    return out


def best_filter_at_equal_completeness(summary: dict[str, dict], families: dict[str, str],
                                      reference: str = REFERENCE) -> dict[str, str | None]:
    """Per filter family, the setting that removes most flying points at the reference's completeness.

    "At" means at least the reference's completeness minus ``COMPLETENESS_SLACK``; None when no
    setting of the family is that complete.
    """
    floor = summary[reference]["completeness"] - COMPLETENESS_SLACK
    best: dict[str, str | None] = {}
    for family in sorted(set(families.values()) - {"ours"}):
        names = [n for n, f in families.items() if f == family and summary[n]["completeness"] >= floor]
        best[family] = max(names, key=lambda n: summary[n]["flying_removed"]) if names else None
    return best


def best_per_metric(summary: dict[str, dict], families: dict[str, str]) -> dict[str, dict[str, str]]:
    """Per filter family, its best setting for each metric (fewest flying, most complete, ...)."""
    pick = {"flying_points": min, "completeness": max, "chamfer": min, "fscore": max}
    out = {}
    for family in sorted(set(families.values()) - {"ours"}):
        names = [n for n, f in families.items() if f == family]
        out[family] = {metric: choose(names, key=lambda n, m=metric: summary[n][m]) for metric, choose in pick.items()}
    return out


def time_methods(inputs: FrameInputs, all_methods: list[Method], repeat: int) -> dict[str, float]:
    """Median ms per frame of each method (edge mask + cloud depth for ours; the filter for the rest)."""
    return {m.name: timeit(lambda m=m: m.run(inputs), warmup=1, repeat=repeat)["median_ms"] for m in all_methods}

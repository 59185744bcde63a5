"""Pictures of an evaluation: per-frame panels and summary plots.

Panels are built in memory (kept for the best/worst frames); plots use the shared
``modot_ros.evaluation.plots`` helpers.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from modot_ros.evaluation import plots as report

import cv2
import numpy as np

TILE_WIDTH = 320


def _tile(image: np.ndarray, label: str) -> np.ndarray:
    height = round(image.shape[0] * TILE_WIDTH / image.shape[1])
    tile = cv2.resize(np.ascontiguousarray(image), (TILE_WIDTH, height), interpolation=cv2.INTER_NEAREST)
    cv2.putText(tile, label, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(tile, label, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return tile


def frame_panel(result: Any) -> np.ndarray:
    """RGB panel: input | depth | OB | confidence; a second row with ground truth and error if any."""
    gray = lambda a: report.colorize(a, 0.0, 1.0, "bone") if a is not None else None  # noqa: E731
    top = [(result.rgb, f"input #{result.index}"),
           (report.colorize_inverse_depth(result.depth, result.gt_depth), "depth"),
           (gray(result.boundary), "occlusion boundary"),
           (report.colorize(result.confidence, 0.0, 1.0, "viridis") if result.confidence is not None
            else None, "confidence")]
    rows = [[_tile(img, label) for img, label in top if img is not None]]
    if result.gt_depth is not None or result.gt_boundary is not None:
        bottom = []
        if result.gt_depth is not None:
            bottom.append(_tile(report.colorize_inverse_depth(result.gt_depth), "ground-truth depth"))
            depth = result.depth if result.depth.shape == result.gt_depth.shape else \
                cv2.resize(result.depth, result.gt_depth.shape[::-1], interpolation=cv2.INTER_NEAREST)
            rel = np.abs(depth - result.gt_depth) / result.gt_depth
            bottom.append(_tile(report.colorize(rel, 0.0, 0.3, "inferno"), "abs rel error (0-0.3)"))
        if result.gt_boundary is not None:
            bottom.append(_tile(gray(result.gt_boundary.astype(np.float32)), "ground-truth boundary"))
        rows.append(bottom)
    width = max(len(r) for r in rows) * TILE_WIDTH
    stacked = []
    for row in rows:
        strip = np.hstack(row)
        stacked.append(np.pad(strip, ((0, 0), (0, width - strip.shape[1]), (0, 0))))
    return np.vstack(stacked)


def write_plots(summary: dict, folder: Path) -> list[str]:
    """Per-frame error over time, error vs distance, OB precision-recall (``modot_ros.evaluation.plots``)."""
    frames, written = summary["per_frame"], []
    named = (("abs_rel", "AbsRel"), ("ob_best_f", "OB best F"), ("flying_rate", "flying-pixel rate"))
    series = {label: np.array([f.get(key, np.nan) for f in frames], float)
              for key, label in named if any(key in f for f in frames)}
    if series:
        index = np.array([f["index"] for f in frames])
        report.plot_series(folder / "error_over_time.png", series, x=index, ylabel="per frame",
                           title="per-frame scores over the bag")
        written.append("plots/error_over_time.png")
    if "error_vs_distance" in summary:
        dist = summary["error_vs_distance"]
        curve = {"edges": np.asarray(dist["bin_edges_m"]), "abs_rel": np.asarray(dist["abs_rel"], float)}
        report.plot_error_vs_distance(folder / "error_vs_distance.png", {"modot": curve})
        written.append("plots/error_vs_distance.png")
    if "pr_curve" in summary:
        result = summary["boundary"] | summary["pr_curve"]
        report.plot_pr_curve(folder / "pr_curve.png", {"modot": result})
        written.append("plots/pr_curve.png")
    return written

"""Evaluation report shared by offline bag evaluation and live replay.

``EvaluationReport.add`` scores one frame (depth metrics with optional per-frame median
alignment, OB counts for ODS/OIS/AP, boundary error, flying pixels, error vs distance) and keeps
PNG panels of the best and worst frames; ``write`` puts metrics.json, report.md, report.html,
plots/*.png and panels/*.png into a folder. Metric definitions live in ``modot_ros.evaluation``
(shared with training evaluation); this module only applies them frame by frame.
"""
from __future__ import annotations

import heapq
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from modot_ros.evaluation.depth_errors import abs_rel_by_distance
from modot_ros.evaluation.flicker import FlickerMeter
from modot_ros.evaluation.frame_panels import frame_panel, write_plots
from modot_ros.evaluation.report_markdown import write_markdown_and_html
from modot_ros.evaluation.scorer import FrameScorer
from modot_ros.geometry import CameraIntrinsics


@dataclass
class FrameResult:
    """What the estimator (or the node) produced for one frame, plus its ground truth."""

    index: int
    stamp_ns: int
    rgb: np.ndarray
    depth: np.ndarray
    boundary: np.ndarray | None
    confidence: np.ndarray | None
    intrinsics: CameraIntrinsics
    gt_depth: np.ndarray | None = None
    gt_boundary: np.ndarray | None = None
    depth_mean: np.ndarray | None = None   # the weighted-mean read-out, for its flying pixels
    params: np.ndarray | None = None       # (5, H, W) mixture parameters, for mixture health
    pose: np.ndarray | None = None         # T_fixed_camera (a bag's /tf), for the flicker measure


def _resize_to(array: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray | None:
    """Outputs at another size than the ground truth (node ``output_scale``) are resized to it."""
    import cv2

    if array is None or array.shape[:2] == shape:
        return array
    return cv2.resize(array, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)


class EvaluationReport:
    """Accumulates per-frame scores; ``align`` is ``none`` or ``median``.

    ob_thresholds: OB probability thresholds of the BSDS protocol (99); fewer is faster.
    ob_stride: score OBs on every Nth frame only (BSDS matching costs up to seconds per frame).
    ob_jobs: worker processes sharing each frame's BSDS thresholds (same result; 1: none).
    """

    def __init__(self, align: str = "none", min_depth: float = 0.1, max_depth: float = 20.0,
                 n_panels: int = 2, distance_bins: int = 12, ob_thresholds: int = 99, ob_stride: int = 1,
                 ob_jobs: int = 1) -> None:
        if align not in ("none", "median"):
            raise ValueError(f"align={align!r}; allowed: none, median")
        self.align, self.min_depth, self.max_depth, self.n_panels = align, min_depth, max_depth, n_panels
        self.frames: list[dict] = []
        self.scorer = FrameScorer(min_depth, max_depth, align, ob_thresholds, ob_stride, ob_jobs=ob_jobs)
        self.boundary = self.scorer.boundary
        self.edges = np.geomspace(min_depth, max_depth, distance_bins + 1)
        self._bin_sum = np.zeros(distance_bins)
        self._bin_count = np.zeros(distance_bins, np.int64)
        self._best: list = []   # heaps of (key, index, panel) holding the n_panels best / worst
        self._worst: list = []
        self._examples: list = []
        self.flicker = FlickerMeter()

    @property
    def n_frames(self) -> int:
        return len(self.frames)

    def add(self, result: FrameResult) -> dict:
        """Score one frame; returns its per-frame metrics (also kept for the report)."""
        gt, gt_ob = result.gt_depth, result.gt_boundary
        shape = gt.shape if gt is not None else gt_ob.shape if gt_ob is not None else result.depth.shape
        depth = _resize_to(result.depth, shape)
        row: dict = {"index": result.index, "stamp_ns": result.stamp_ns}
        row |= self.scorer.add(gt, depth=depth, depth_mean=_resize_to(result.depth_mean, shape),
                               params=_resize_params(result.params, shape),
                               boundary=_resize_to(result.boundary, shape), gt_boundary=gt_ob)
        if result.pose is not None and result.depth.shape == shape:
            row |= self.flicker.add(depth, result.intrinsics, result.pose, gt)
        if gt is not None:
            binned = abs_rel_by_distance(depth, gt, self.edges, align=self.align, min_depth=self.min_depth,
                                         max_depth=self.max_depth)
            self._bin_sum += binned["sum"]
            self._bin_count += binned["count"]
        self.frames.append(row)
        self._keep_panel(row, result)
        return row

    def _keep_panel(self, row: dict, result: FrameResult) -> None:
        """Keep panels of the frames with the lowest / highest AbsRel (or OB F without depth GT)."""
        key = row.get("abs_rel", 1.0 - row["ob_best_f"] if "ob_best_f" in row else None)
        if key is None or not np.isfinite(key):
            if len(self._examples) < self.n_panels or result.index % 50 == 0:
                self._examples = (self._examples + [(result.index, frame_panel(result))])[-self.n_panels:]
            return
        for heap, sign in ((self._best, -1.0), (self._worst, 1.0)):
            item = (sign * key, result.index)
            if len(heap) < self.n_panels or item > heap[0][:2]:
                entry = (*item, frame_panel(result))
                (heapq.heappush if len(heap) < self.n_panels else heapq.heapreplace)(heap, entry)

    def summary(self) -> dict:
        """Aggregates: depth means over frames, ODS/OIS/AP, error vs distance, per-frame rows."""
        out: dict = {"n_frames": self.n_frames, "align": self.align,
                     "ob_protocol": {"thresholds": len(self.boundary.thresholds),
                                     "frame_stride": self.scorer.ob_stride}}
        scores = self.scorer.summary()
        depth_rows = [f for f in self.frames if "abs_rel" in f]
        if depth_rows:
            out["depth"] = {k: v for k, v in scores.items() if k not in ("n_frames", "ods", "ois", "ap", "ap_ours")}
            out["depth"]["n_frames"] = len(depth_rows)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = self._bin_sum / self._bin_count
            out["error_vs_distance"] = {"bin_edges_m": self.edges.tolist(), "abs_rel": mean.tolist(),
                                        "pixels": self._bin_count.tolist()}
        if self.boundary.n_images:
            result = self.boundary.result()
            out["boundary"] = {k: float(v) for k, v in result.items() if np.isscalar(v)}
            out["pr_curve"] = {k: np.asarray(result[k]).tolist() for k in ("thresholds", "precision", "recall")}
        if self.flicker.summary()["flicker_pairs"]:
            out["flicker"] = self.flicker.summary()
        out["per_frame"] = self.frames
        return out

    def write(self, folder: str | Path, run: dict) -> dict:
        """Write metrics.json, report.md/.html, plots/ and panels/ into ``folder``; return the summary."""
        folder = Path(folder)
        (folder / "panels").mkdir(parents=True, exist_ok=True)
        summary = {"run": run} | self.summary()
        panels = self._write_panels(folder / "panels")
        plots = write_plots(summary, folder / "plots") if self.frames else {}
        summary["figures"] = {"panels": panels, "plots": plots}
        (folder / "metrics.json").write_text(json.dumps(_finite(summary), indent=1, allow_nan=False))
        write_markdown_and_html(summary, folder)
        return summary

    def _write_panels(self, folder: Path) -> list[str]:
        import cv2

        names = []
        examples = [(0, index, panel) for index, panel in self._examples]
        for label, heap in (("best", self._best), ("worst", self._worst), ("frame", examples)):
            ordered = sorted(heap, key=lambda e: (-e[0] if label == "best" else e[0]), reverse=label != "frame")
            for rank, (_, index, panel) in enumerate(ordered):
                name = f"{label}_{rank}_frame{index:05d}.png"
                cv2.imwrite(str(folder / name), panel[..., ::-1])
                names.append(f"panels/{name}")
        return names


def _resize_params(params: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray | None:
    """(C, H, W) parameters at another size are resized channel by channel (nearest)."""
    if params is None or params.shape[1:] == shape:
        return params
    return np.stack([_resize_to(np.ascontiguousarray(c), shape) for c in params])


def _finite(value):
    """JSON-safe copy: numpy scalars/arrays to Python, NaN/inf to null (strict JSON readers)."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_finite(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value

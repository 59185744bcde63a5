"""Issue 30's accuracy gate, per backend against torch fp32 in the same run (not a timed test).

The shipped weights run through each CPU backend (``torch`` the reference, ``onnxruntime``,
``openvino``) on the same frames, end to end through ``DepthBoundaryEstimator.predict`` as the
node runs them:

* the engine's synthetic test split (metric AbsRel, ODS of the OB map, mixture bimodality at
  the GT's occlusion boundaries, flying-point share);
* the real dev frames of each camera (``REAL_DEV``: scale-aligned AbsRel; missing folders skipped).

A backend may be the default only if, against torch: synthetic AbsRel within +0.005 and ODS within
-0.005, every camera's aligned AbsRel within +0.005, bimodality and flying-point share not worse by
more than 0.01. The largest per-pixel depth difference to torch is reported beside them, and a
picture of it (first test frame) is written to ``build/bench_accuracy/``.
Standalone: ``python -m benchmarks --only backends.accuracy``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.harness import benchmark
from modot_ros.evaluation.scorer import FrameScorer

BACKENDS = ("torch", "onnxruntime", "openvino")
REAL_DEV = {"oakd": "../shared/data/real_indoor_dev", "realsense": "../shared/data/real_indoor_dev_realsense",
            "tum": "../shared/data/real_indoor_dev_tum"}
# gate: (summary key, worse direction, margin)
GATE = {"abs_rel": (+1, 0.005), "ods": (-1, 0.005), "bimodality": (+1, 0.01), "flying_rate": (+1, 0.01)}
REAL_MARGIN = 0.005
PICTURES = Path("build/bench_accuracy")


def _frames(quick: bool) -> tuple[list[dict], dict[str, list[dict]]]:
    from training.data.recording import read_recording
    from training.evaluate import split_frames

    synthetic = split_frames("test", 8 if quick else 64)
    real = {name: read_recording(folder, "depth", 0).frames for name, folder in REAL_DEV.items()
            if Path(folder).is_dir()}
    return synthetic, real


def _scores(backend: str, synthetic: list[dict], real: dict[str, list[dict]]) -> tuple[dict, np.ndarray]:
    """(scores, first test frame's depth) of the shipped weights through ``backend``, one thread."""
    from modot_ros.inference import DepthBoundaryEstimator

    estimator = DepthBoundaryEstimator.from_checkpoint(device="cpu", backend=backend, precision="fp32", threads=1)
    scorer = FrameScorer(ob_jobs=1)
    first = None
    for frame in synthetic:
        pred = estimator.predict(frame["rgb"], frame["intrinsics"])
        first = pred.depth if first is None else first
        scorer.add_prediction(pred, frame["depth"], frame["boundary"], frame["intrinsics"])
    summary = scorer.summary()
    scores = {key: summary[key] for key in GATE}
    for name, frames in real.items():
        aligned = FrameScorer(align="median")
        for frame in frames:
            aligned.add_prediction(estimator.predict(frame["rgb"], frame["intrinsics"]), frame["truth"])
        scores[f"{name}_aligned"] = aligned.summary()["abs_rel"]
    return scores, first


def _picture(depths: dict[str, np.ndarray]) -> Path:
    from modot_ros.evaluation import plots as report

    reference = depths["torch"]
    columns = [("torch depth", report.colorize_depth(reference, float(np.nanmin(reference)),
                                                     float(np.nanmax(reference))))]
    for name, depth in depths.items():
        if name != "torch":
            gap_ppm = 1e6 * np.abs(depth - reference) / reference
            columns.append((f"|{name} - torch| / torch (0-10 ppm)",
                            report.colorize_depth(np.clip(gap_ppm, 0, 10), 0, 10, cmap="magma")))
    PICTURES.mkdir(parents=True, exist_ok=True)
    return report.save_panel(PICTURES / "backend_depth_difference.png", columns)


@benchmark("backends.accuracy")
def accuracy(quick: bool) -> list[dict]:
    """The accuracy gate: every CPU backend against torch fp32, same weights and frames."""
    synthetic, real = _frames(quick)
    results, depths, rows = {}, {}, []
    for backend in BACKENDS:
        try:
            results[backend], depths[backend] = _scores(backend, synthetic, real)
        except (ImportError, OSError, ValueError) as error:  # an engine missing here: say so, keep the rest
            rows.append({"name": f"accuracy gate: {backend}", "value": float("nan"), "unit": "",
                         "note": f"not run: {str(error).splitlines()[0]}"})
    reference = results["torch"]
    for backend, scores in results.items():
        deltas = {key: scores[key] - reference[key] for key in scores}
        worse = [key for key, (sign, margin) in GATE.items() if sign * deltas[key] > margin]
        worse += [key for key in scores if key.endswith("_aligned") and deltas[key] > REAL_MARGIN]
        text = ", ".join(f"{key} {scores[key]:.4f} ({deltas[key]:+.4f})" for key in scores)
        depth_gap = 1e6 * float(np.nanmax(np.abs(depths[backend] - depths["torch"]) / depths["torch"]))
        name = f"accuracy gate: {backend} vs torch fp32 ({len(synthetic)} test, {sum(map(len, real.values()))} real)"
        rows.append({"name": name, "value": depth_gap, "unit": "ppm (largest depth gap)", "ok": not worse,
                     "goal": "gate of issue 30", "note": text + (f"; fails: {worse}" if worse else "")})
    rows.append({"name": "accuracy gate picture", "value": float("nan"), "unit": "",
                 "note": str(_picture(depths))})
    return rows

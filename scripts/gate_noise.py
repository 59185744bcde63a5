"""How noisy `modot-adapt`'s forgetting gate is: paired bootstraps of ODS and AbsRel on its validation frames.

    python -m scripts.gate_noise CHECKPOINT [CHECKPOINT ...] [--frames 64] [--output build/gate_noise.json]

Each checkpoint (a fine-tune's ``final.pt``) and the packaged start are scored on the engine's
validation frames the gate reads (``training.evaluate.split_frames``, the shared scorer); the
frames are resampled with replacement 1,000 times, the same draw for both, and the candidate minus
the start is reported with its 95 % interval: ODS from the resampled frames' summed
precision/recall counts, AbsRel as the resampled mean. Experiment log 25 used it to set the gate's
0.01 bounds against their own noise.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

RESAMPLES = 1000


def _scored(checkpoint, frames: list[dict]):
    """(the shared scorer's boundary evaluator, per-frame AbsRel (N,)) of ``checkpoint``."""
    from modot_ros.inference import DepthBoundaryEstimator
    from training.evaluate import score

    estimator = DepthBoundaryEstimator.from_checkpoint(checkpoint, device="cpu", warmup=0)
    preds = estimator.predict_batch([f["rgb"] for f in frames], [f["intrinsics"] for f in frames], 4)
    scorer = score(preds, frames, Path(str(checkpoint)).parent.parent.name or "model")
    return scorer.boundary, np.array([r["abs_rel"] for r in scorer.rows])


def gate_noise(candidates: list[str], frames: list[dict], seed: int = 0) -> dict[str, dict]:
    """Candidate minus start, ODS and AbsRel, with paired 95 % bootstrap intervals, per candidate."""
    from modot_ros.checkpoint import default_weights_path

    start_ob, start_abs = _scored(default_weights_path(), frames)
    n = len(frames)
    draws = np.random.default_rng(seed).integers(0, n, (RESAMPLES, n))
    out = {}
    for checkpoint in candidates:
        ob, abs_rel = _scored(checkpoint, frames)
        d_ods = [ob.ods_of(d) - start_ob.ods_of(d) for d in draws]
        d_abs = abs_rel[draws].mean(axis=1) - start_abs[draws].mean(axis=1)
        out[checkpoint] = {"d_ods": ob.ods_of(np.arange(n)) - start_ob.ods_of(np.arange(n)),
                           "d_ods_interval": np.percentile(d_ods, [2.5, 97.5]).tolist(),
                           "d_abs_rel": float(abs_rel.mean() - start_abs.mean()),
                           "d_abs_rel_interval": np.percentile(d_abs, [2.5, 97.5]).tolist()}
        print(checkpoint, json.dumps(out[checkpoint]), flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    """Score the checkpoints and write the JSON; 0 when done."""
    from training.adapt import VAL_CACHE
    from training.evaluate import split_frames

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoints", nargs="+")
    p.add_argument("--frames", type=int, default=64, help="validation frames (the gate's: 64)")
    p.add_argument("--output", type=Path, default=Path("build/gate_noise.json"))
    args = p.parse_args(argv)
    frames = split_frames("val", args.frames, VAL_CACHE, (240, 320))
    result = gate_noise(args.checkpoints, frames)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":  # the scorer's worker processes re-import this module
    raise SystemExit(main())

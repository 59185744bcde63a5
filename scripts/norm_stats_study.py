"""BatchNorm statistics re-estimated on a camera's own images (AdaBN): adaptation without labels.

    python -m scripts.norm_stats_study --output build/norm_stats_study [--threads 2]

Every BatchNorm layer of the shipped weights gets its running mean and variance re-estimated from
one batch (no parameter changes, no labels): ``camera`` = the training fold's images of a real
camera alone, ``mix`` = those images beside as many engine frames (the replay cache). Each variant
is scored on the camera's held-out frames (the folds of experiment log 16, both ways round), on the
other cameras (mean aligned AbsRel) and on the engine's test split (64 frames, metric AbsRel).
Writes ``results.json``, ``results.md`` and per fold the held-out report with panels
(``real_frames_report``). Experiment log 21.
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

import numpy as np
import torch

from modot_ros.checkpoint import build_model, default_weights_path, save_checkpoint
from modot_ros.inference import DepthBoundaryEstimator, to_network_input
from training.adapt import REPLAY_CACHE
from training.adapt_study import scored, synthetic_scores
from training.data.frames import cache_frames, load_cache
from training.data.recording import read_recording
from training.real_frames_report import write_report

CAMERAS = {"oakd": "../shared/data/real_indoor_dev", "realsense": "../shared/data/real_indoor_dev_realsense",
           "tum": "../shared/data/real_indoor_dev_tum"}
HELD_OUT = {"oakd": [["corridor", "desk"], ["pov_hands", "toy"]],
            "realsense": [["000000", "000001", "000002"], ["000003", "000004", "000005"]],
            "tum": [["fr2_hall_2"], ["fr2_hall_1"]]}


def with_norm_stats(model: torch.nn.Module, images: list[np.ndarray]) -> torch.nn.Module:
    """A copy of ``model`` whose BatchNorm running statistics are those of ``images`` (one batch).

    ``torch.optim.swa_utils.update_bn``: statistics reset, then a plain average over the batch;
    the network has no dropout, so its train-mode forward differs from eval only in BatchNorm.
    """
    model = copy.deepcopy(model).eval()
    height, width = model.config.input_height, model.config.input_width
    batch = torch.cat([to_network_input(torch.from_numpy(rgb)[None], height, width) for rgb in images])
    torch.optim.swa_utils.update_bn([batch], model)
    return model


def _mean(rows: list[dict], key: str) -> float:
    return float(np.nanmean([r[key] for r in rows]))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--output", default="build/norm_stats_study")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    from training.evaluate import split_frames

    output = Path(args.output)
    frames = {c: read_recording(path, "depth", 0).frames for c, path in CAMERAS.items()}
    base, checkpoint = build_model(default_weights_path())
    engine = cache_frames(load_cache(REPLAY_CACHE), 64)
    test = split_frames("test", 64)
    results, lines = [], ["| camera | held out | variant | held-out aligned | metric | other cameras (aligned) | "
                          "engine test |", "|---|---|---|---|---|---|---|"]
    for camera, folds in HELD_OUT.items():
        for names in folds:
            held = [f for f in frames[camera] if f["name"] in names]
            train = [f["rgb"] for f in frames[camera] if f["name"] not in names]
            draw = np.random.default_rng(0).choice(len(engine), len(train), replace=False)
            variants = {"before": base, "camera": with_norm_stats(base, train),
                        "mix": with_norm_stats(base, train + [engine[i]["rgb"] for i in draw])}
            estimators = {k: DepthBoundaryEstimator(copy.deepcopy(m), device="cpu", warmup=0)
                          for k, m in variants.items()}
            write_report(held, names, estimators, output / f"{camera}_{names[0]}", reference="before")
            for name, model in variants.items():
                rows = [scored(estimators[name].predict(f["rgb"], f["intrinsics"]).depth, f) for f in held]
                others = {o: _mean([scored(estimators[name].predict(f["rgb"], f["intrinsics"]).depth, f)
                                    for f in frames[o]], "abs_rel_aligned") for o in CAMERAS if o != camera}
                path = save_checkpoint(output / "weights" / f"{camera}_{names[0]}_{name}.pt", model, base.config,
                                       training_config=checkpoint.training_config, data=checkpoint.data)
                result = {"camera": camera, "held_out": names, "variant": name, "held_out_rows": rows,
                          "other_cameras": others, "engine_test": synthetic_scores(path, test)["abs_rel"]}
                results.append(result)
                lines.append(f"| {camera} | {', '.join(names)} | {name} | {_mean(rows, 'abs_rel_aligned'):.3f} | "
                             f"{_mean(rows, 'abs_rel'):.3f} | "
                             + ", ".join(f"{o} {v:.3f}" for o, v in others.items())
                             + f" | {result['engine_test']:.3f} |")
                print(lines[-1], flush=True)
                (output / "results.json").write_text(json.dumps(results, indent=1))
                (output / "results.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

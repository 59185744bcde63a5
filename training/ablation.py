"""Ablation study: every variant trained for the same wall-clock budget, scored on the test split.

    python -m training.ablation --budget-minutes 4 --output build/ablation [--parallel 2]
    python -m training.ablation --budget-steps 200 --output build/ablation_steps

Variants (overrides on ``training/configs/ablation_base.yaml``): single-task depth (regression),
single-task OB, joint without CASM or OBDCL, MoDOT (CASM + OBDCL), MoDOT + mixture head, and the
self-supervised mixture variant (depth from the photometric loss on sequences with exact poses;
OBs still supervised). Runs are resumable (``--resume`` per variant), so re-running the command
after an interruption continues. Writes ``OUTPUT/ablation.md`` and ``OUTPUT/ablation.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch

from modot_ros.evaluation import plots as report
from modot_ros.checkpoint import load_checkpoint
from training.config import load_config
from training.evaluate import evaluate_checkpoint, split_frames
from training.data.frames import ensure_cache

BASE = "training/configs/ablation_base.yaml"
VARIANTS: dict[str, list[str]] = {
    "depth (regression)": ["model.variant=depth", "model.depth_head=regression"],
    "OB only": ["model.variant=boundary"],
    "joint (no CASM, no OBDCL)": ["model.variant=joint", "model.depth_head=regression",
                                  "loss.obdcl_weight=0"],
    "MoDOT (CASM + OBDCL)": ["model.variant=modot", "model.depth_head=regression"],
    "MoDOT + mixture": ["model.variant=modot", "model.depth_head=mixture"],
    "MoDOT + mixture, self-supervised depth": ["model.variant=modot", "model.depth_head=mixture",
                                               "run.supervision=self_supervised"],
}
# keys of modot_ros.evaluation.scorer.FrameScorer.summary(); "ap" is the BSDS Area-PR
COLUMNS = ("variant", "steps", "abs_rel", "abs_rel_med", "rmse", "delta1", "ods", "ois", "ap", "dbe_acc",
           "dbe_comp", "si_boundary_f1", "flying_rate", "flying_rate_mean_readout", "bimodality", "fscore_rel5")


def slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_")


def _command(name: str, output: Path, budget: dict[str, float]) -> list[str]:
    return [sys.executable, "-m", "training.train", "--config", BASE, "--resume",
            "--output", str(output / slug(name)), "--set",
            *[f"schedule.{k}={v}" for k, v in budget.items()], *VARIANTS[name]]


def train_all(names: list[str], output: Path, budget: dict[str, float], parallel: int) -> None:
    """Run the variants' trainings, ``parallel`` at a time (each one torch thread)."""
    pending, running = list(names), []
    while pending or running:
        while pending and len(running) < parallel:
            name = pending.pop(0)
            log = open(output / f"{slug(name)}.log", "a")
            running.append((name, subprocess.Popen(_command(name, output, budget), stdout=log,
                                                   stderr=subprocess.STDOUT), log))
        time.sleep(2)
        for item in list(running):
            if item[1].poll() is not None:
                item[2].close()
                running.remove(item)
                if item[1].returncode:
                    raise RuntimeError(f"variant {item[0]!r} failed; see {output}/{slug(item[0])}.log")


def score_all(names: list[str], output: Path, n_test: int) -> list[dict]:
    frames = split_frames("test", n_test)
    rows = []
    for name in names:
        ckpt = output / slug(name) / "final.pt"
        stats = load_checkpoint(ckpt).training_config.get("run_stats", {})
        metrics = evaluate_checkpoint(ckpt, frames, output / "eval" / slug(name), panels=2,
                                      label=name)
        rows.append({"variant": name, "steps": stats.get("steps"),
                     "train_seconds": stats.get("train_seconds")} | metrics)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget-minutes", type=float, default=4.0,
                        help="training wall-clock minutes per variant")
    parser.add_argument("--budget-steps", type=int, default=0,
                        help="instead of minutes: the same number of steps (images) per variant")
    parser.add_argument("--output", default="build/ablation")
    parser.add_argument("--parallel", type=int, default=2, help="trainings at a time")
    parser.add_argument("--n-test", type=int, default=32, help="test-split frames to score")
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), help="subset to run")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.variants) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown variants {unknown}; allowed: {list(VARIANTS)}")
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    data = load_config(BASE).data  # the frame caches every variant reads (rendered once)
    ensure_cache(data.train_cache, "train", 400, (-3, 3))
    ensure_cache(data.val_cache, "val", 24, ())
    budget = ({"max_steps": args.budget_steps, "time_budget_minutes": 0} if args.budget_steps
              else {"time_budget_minutes": args.budget_minutes})
    train_all(args.variants, output, budget, args.parallel)
    rows = score_all(args.variants, output, args.n_test)
    setup = {"budget": budget, "parallel": args.parallel,
             "n_test": args.n_test, "cpu": platform.processor() or platform.machine(),
             "cpu_count": os.cpu_count(), "torch_threads_per_run": 1}
    (output / "ablation.json").write_text(json.dumps({"setup": setup, "rows": rows}, indent=2))
    table = report.write_markdown_table(rows, output / "ablation.md", columns=COLUMNS)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Ablation study: every variant trained for the same wall-clock budget, scored on the test split.

    python -m training.ablation --budget-minutes 15 --output build/ablation_recipe [--parallel 2]
    python -m training.ablation --budget-steps 200 --output build/ablation_steps \
        [--real folder:../shared/data/real_indoor_dev middlebury]

Variants are overrides on ``training/configs/ablation_base.yaml`` (the shipped recipe at a short
budget): the recipe itself (MoDOT: CASM + OBDCL, assigned mixture head), single-task depth,
single-task OB, the recipe with a regression head, joint without CASM or OBDCL, and the
self-supervised mixture variant (depth from the photometric loss on sequences with exact poses;
OBs still supervised). The pairs the papers' claims rest on run with two seeds (``SEEDED``), and
``--parallel 2`` pairs them in time (``RUN_ORDER``) so that a shared CPU slows both sides of a
comparison alike. Runs are resumable (``--resume`` per run), so re-running the command after an
interruption continues. Writes ``OUTPUT/ablation.md`` (runs, baselines, seed means and the claims'
verdicts) and ``OUTPUT/ablation.json``.
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

import numpy as np
import torch

from modot_ros.evaluation import plots as report
from modot_ros.checkpoint import load_checkpoint
from training.config import load_config
from training.evaluate import baseline_scorers, evaluate_checkpoint, split_frames
from training.data.frames import ensure_cache
from training.real_frames_report import load_models, real_frames
from training.real_frames_report import write_report as write_real_report

BASE = "training/configs/ablation_base.yaml"
RECIPE = "MoDOT + mixture (recipe)"
VARIANTS: dict[str, list[str]] = {
    RECIPE: [],
    "depth only (mixture)": ["model.variant=depth"],
    "OB only": ["model.variant=boundary", "loss.ob_start_step=0"],
    "MoDOT + regression": ["model.depth_head=regression"],
    "joint (no CASM, no OBDCL)": ["model.variant=joint", "loss.obdcl_weight=0"],
    "MoDOT + mixture, self-supervised depth": ["run.supervision=self_supervised"],
}
SEEDED = (RECIPE, "depth only (mixture)", "OB only", "MoDOT + regression", "joint (no CASM, no OBDCL)")
# (variant, seed) in the order --parallel 2 starts them: each comparison's two sides run together
RUN_ORDER = ((RECIPE, 0), ("depth only (mixture)", 0), (RECIPE, 1), ("depth only (mixture)", 1),
             ("OB only", 0), ("MoDOT + regression", 0), ("OB only", 1), ("MoDOT + regression", 1),
             ("joint (no CASM, no OBDCL)", 0), ("MoDOT + mixture, self-supervised depth", 0),
             ("joint (no CASM, no OBDCL)", 1), (RECIPE, 2))
# (claim, variant claimed better, the other, metric, lower is better)
CLAIMS = (
    ("MoDOT: joint training gives better depth than single-task depth", RECIPE,
     "depth only (mixture)", "abs_rel", True),
    ("MoDOT: joint training gives better OBs than single-task OB", RECIPE, "OB only", "ods", False),
    ("MoDOT: CASM + OBDCL improve depth over a plain joint model", RECIPE,
     "joint (no CASM, no OBDCL)", "abs_rel", True),
    ("MoDOT: CASM + OBDCL improve OBs over a plain joint model", RECIPE,
     "joint (no CASM, no OBDCL)", "ods", False),
    ("Mixture: fewer flying pixels than a regression head", RECIPE, "MoDOT + regression",
     "flying_rate", True),
    ("Mixture: sharper depth boundaries (Depth Pro boundary F1)", RECIPE, "MoDOT + regression",
     "si_boundary_f1", False),
    ("Mixture: AbsRel no worse than a regression head", RECIPE, "MoDOT + regression", "abs_rel", True),
)
# keys of modot_ros.evaluation.scorer.FrameScorer.summary(); "ap" is the BSDS Area-PR
COLUMNS = ("variant", "seed", "steps", "abs_rel", "abs_rel_med", "rmse", "delta1", "ods", "ois", "ap",
           "dbe_comp", "si_boundary_f1", "flying_rate", "flying_rate_mean_readout", "bimodality")


PLOTTED = (("abs_rel", "AbsRel (lower is better)"), ("ods", "ODS (higher)"),
           ("dbe_comp", "ε_comp px (lower)"), ("flying_rate", "flying pixels (lower)"),
           ("si_boundary_f1", "boundary F1, Depth Pro (higher)"))


def slug(name: str, seed: int = 0) -> str:
    return "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_") + f"_s{seed}"


def _command(name: str, seed: int, output: Path, budget: dict[str, float]) -> list[str]:
    return [sys.executable, "-m", "training.train", "--config", BASE, "--resume",
            "--output", str(output / slug(name, seed)), "--set", f"run.seed={seed}",
            *[f"schedule.{k}={v}" for k, v in budget.items()], *VARIANTS[name]]


def selected_runs(variants: list[str], seeds: list[int] | None = None) -> list[tuple[str, int]]:
    """The (variant, seed) runs of ``variants`` (only ``seeds`` when given), in ``RUN_ORDER``."""
    return [run for run in RUN_ORDER if run[0] in variants and (seeds is None or run[1] in seeds)]


def train_all(runs: list[tuple[str, int]], output: Path, budget: dict[str, float], parallel: int) -> None:
    """Run the trainings, ``parallel`` at a time (each one torch thread), in the given order."""
    pending, running = list(runs), []
    while pending or running:
        while pending and len(running) < parallel:
            run = pending.pop(0)
            log = open(output / f"{slug(*run)}.log", "a")
            print(f"training {run[0]!r} seed {run[1]} (log {log.name})", flush=True)
            running.append((run, subprocess.Popen(_command(*run, output, budget), stdout=log,
                                                  stderr=subprocess.STDOUT), log))
        time.sleep(2)
        for item in list(running):
            if item[1].poll() is not None:
                item[2].close()
                running.remove(item)
                if item[1].returncode:
                    raise RuntimeError(f"run {item[0]!r} failed; see {output}/{slug(*item[0])}.log")


def score_all(runs: list[tuple[str, int]], output: Path, frames: list[dict]) -> list[dict]:
    rows = []
    for name, seed in runs:
        ckpt = output / slug(name, seed) / "final.pt"
        stats = load_checkpoint(ckpt).training_config.get("run_stats", {})
        print(f"scoring {name!r} seed {seed}", flush=True)
        metrics = evaluate_checkpoint(ckpt, frames, output / "eval" / slug(name, seed), panels=2,
                                      label=name)
        rows.append({"variant": name, "seed": seed, "steps": stats.get("steps"),
                     "train_seconds": stats.get("train_seconds")} | metrics)
    return rows


def baseline_rows(frames: list[dict], train_cache: str, checkpoint: Path) -> list[dict]:
    """The constant depth and the shipped weights, scored on the same frames."""
    config = load_checkpoint(checkpoint).model_config
    train = split_frames("train", 200, train_cache)
    scorers = baseline_scorers(("constant", "shipped"), frames, config, train, checkpoint)
    return [{"variant": f"baseline: {name}"} | s.summary() for name, s in scorers.items()]


def verdict(better: list[float], other: list[float], lower_is_better: bool) -> str:
    """Confirmed / refuted when every seed of one side beats every seed of the other."""
    if not better or not other or any(np.isnan(better + other)):
        return "not measured"
    sign = 1.0 if lower_is_better else -1.0
    b, o = sign * np.asarray(better), sign * np.asarray(other)
    seeds = f"{len(better)} vs {len(other)} seeds"
    if b.max() < o.min():
        return f"confirmed ({seeds})" if min(len(better), len(other)) > 1 else "favoured (one seed)"
    if o.max() < b.min():
        return f"refuted ({seeds})" if min(len(better), len(other)) > 1 else "contradicted (one seed)"
    return f"undecided (seeds overlap, {seeds})"


def claim_rows(rows: list[dict]) -> list[dict]:
    """One row per paper claim: both sides' per-seed values, their means and the verdict."""
    def values(name: str, metric: str) -> list[float]:
        return [float(r[metric]) for r in rows if r["variant"] == name and r.get(metric) is not None]

    out = []
    for claim, better, other, metric, lower in CLAIMS:
        a, b = values(better, metric), values(other, metric)
        out.append({"claim": claim, "metric": metric,
                    "claimed better": " / ".join(f"{v:.3f}" for v in a),
                    "other": f"{other}: " + " / ".join(f"{v:.3f}" for v in b),
                    "verdict": verdict(a, b, lower)})
    return out


def write_report(output: Path, rows: list[dict], baselines: list[dict], setup: dict) -> str:
    claims = claim_rows(rows)
    (output / "ablation.json").write_text(json.dumps({"setup": setup, "rows": rows,
                                                      "baselines": baselines, "claims": claims}, indent=2))
    runs = report.write_markdown_table(baselines + rows, output / "runs.md", columns=COLUMNS)
    verdicts = report.write_markdown_table(claims, output / "claims.md",
                                           columns=("claim", "metric", "claimed better", "other", "verdict"))
    report.plot_dots(output / "ablation.png", baselines + rows, PLOTTED)
    text = f"## Runs\n\n{runs}\n\n## Paper claims\n\n{verdicts}\n\n![runs](ablation.png)\n"
    (output / "ablation.md").write_text(text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget-minutes", type=float, default=15.0,
                        help="training wall-clock minutes per run")
    parser.add_argument("--budget-steps", type=int, default=0,
                        help="instead of minutes: the same number of steps per run")
    parser.add_argument("--output", default="build/ablation_recipe")
    parser.add_argument("--parallel", type=int, default=2, help="trainings at a time")
    parser.add_argument("--n-test", type=int, default=32, help="test-split frames to score")
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), help="subset to run")
    parser.add_argument("--seeds", nargs="*", type=int, help="only these seeds of the chosen variants")
    parser.add_argument("--real", nargs="*", default=[], metavar="SOURCE",
                        help="also score every run on real frames (training.real_frames_report): "
                             "middlebury or folder:DIR; reports in OUTPUT/real_<n>/")
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite ablation.md / .png from OUTPUT/ablation.json without training or scoring")
    args = parser.parse_args(argv)
    if args.report_only:
        saved = json.loads((Path(args.output) / "ablation.json").read_text())
        print(write_report(Path(args.output), saved["rows"], saved["baselines"], saved["setup"]))
        return 0
    unknown = sorted(set(args.variants) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown variants {unknown}; allowed: {list(VARIANTS)}")
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    data = load_config(BASE).data  # the frame caches every run reads (rendered once)
    ensure_cache(data.train_cache, "train", 1000, (-3, 3))
    ensure_cache(data.val_cache, "val", 24, ())
    budget = ({"max_steps": args.budget_steps, "time_budget_minutes": 0} if args.budget_steps
              else {"time_budget_minutes": args.budget_minutes})
    runs = selected_runs(args.variants, args.seeds)
    train_all(runs, output, budget, args.parallel)
    frames = split_frames("test", args.n_test)
    rows = score_all(runs, output, frames)
    baselines = baseline_rows(frames, data.train_cache, output / slug(*runs[0]) / "final.pt")
    setup = {"budget": budget, "parallel": args.parallel, "n_test": args.n_test, "base": BASE,
             "cpu": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
             "torch_threads_per_run": 1}
    print(write_report(output, rows, baselines, setup))
    for i, source in enumerate(args.real):
        print(real_report(source, runs, output, output / f"real_{i}"))
    return 0


def real_report(source: str, runs: list[tuple[str, int]], output: Path, report_dir: Path) -> str:
    """The real-frame report of every run, each against the first run (``training.real_frames_report``)."""
    frames, names = real_frames(source)
    models = load_models([f"{slug(*run)}={output / slug(*run) / 'final.pt'}" for run in runs])
    return write_real_report(frames, names, models, report_dir, reference=slug(*runs[0]))


if __name__ == "__main__":
    sys.exit(main())

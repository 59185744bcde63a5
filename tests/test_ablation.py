"""The ablation's bookkeeping: run commands, seeds, and the claims' verdicts."""
from pathlib import Path

import pytest

from training.ablation import (CLAIMS, RECIPE, RUN_ORDER, SEEDED, VARIANTS, _command, claim_rows, selected_runs,
                               verdict)
from training.config import load_config
from training.train import parse_overrides


def test_every_run_is_a_valid_config_with_its_seed():
    for name, seed in RUN_ORDER:
        cmd = _command(name, seed, Path("out"), {"time_budget_minutes": 15})
        overrides = cmd[cmd.index("--set") + 1:]
        config = load_config("training/configs/ablation_base.yaml", parse_overrides(overrides))
        assert config.run.seed == seed and config.schedule.time_budget_minutes == 15
    assert {n for n, s in RUN_ORDER if s == 1} == set(SEEDED)
    assert {n for n, _ in RUN_ORDER} == set(VARIANTS)


def test_paired_runs_start_together():
    # with --parallel 2, runs 2k and 2k+1 train at the same time: the recipe's seeds pair with
    # single-task depth, so a shared CPU slows both sides of that comparison alike
    pairs = [frozenset(n for n, _ in RUN_ORDER[i:i + 2]) for i in range(0, len(RUN_ORDER), 2)]
    assert pairs[0] == pairs[1] == {RECIPE, "depth only (mixture)"}


def test_selected_runs_keep_the_pairing_order_and_filter_seeds():
    joint = "joint (no CASM, no OBDCL)"
    assert selected_runs([joint, RECIPE], [0]) == [(RECIPE, 0), (joint, 0)]
    assert selected_runs([joint]) == [(joint, 0), (joint, 1)]
    assert selected_runs([RECIPE], [7]) == []


@pytest.mark.parametrize("better, other, lower, expected", [
    ([0.20, 0.21], [0.25, 0.30], True, "confirmed"),
    ([0.30, 0.31], [0.25, 0.26], True, "refuted"),
    ([0.20, 0.30], [0.25, 0.26], True, "undecided"),
    ([0.70, 0.72], [0.60, 0.65], False, "confirmed"),
    ([0.70], [0.60], False, "favoured (one seed)"),
    ([0.50], [0.60], False, "contradicted (one seed)"),
    ([], [0.60], False, "not measured"),
])
def test_verdict(better, other, lower, expected):
    assert verdict(better, other, lower).startswith(expected)


def test_claim_rows_read_each_side_per_seed():
    rows = [{"variant": RECIPE, "seed": s, "abs_rel": 0.2 + s / 100, "ods": 0.7, "flying_rate": 0.1,
             "si_boundary_f1": 0.1} for s in (0, 1)]
    rows += [{"variant": "depth only (mixture)", "seed": s, "abs_rel": 0.3, "ods": None} for s in (0, 1)]
    claims = {c["claim"]: c for c in claim_rows(rows)}
    assert len(claims) == len(CLAIMS)
    joint_depth = claims[CLAIMS[0][0]]
    assert joint_depth["claimed better"] == "0.200 / 0.210" and joint_depth["verdict"].startswith("confirmed")
    assert claims[CLAIMS[1][0]]["verdict"] == "not measured"  # no OB-only runs in these rows


def test_real_report_scores_every_run_against_the_first(tmp_path, monkeypatch):
    """--real: one report per source, each run a column, bootstrapped against the first run."""
    import json

    import training.ablation as ablation
    from tests.data_cases import write_folder
    from tests.test_real_frames_report import ContentModel

    folder = write_folder(tmp_path / "folder", n=2, height=48, width=64)
    seen = []
    monkeypatch.setattr(ablation, "load_models",
                        lambda specs: seen.extend(specs) or {s.split("=")[0]: ContentModel() for s in specs})
    runs = [(ablation.RECIPE, 0), ("joint (no CASM, no OBDCL)", 0)]
    text = ablation.real_report(f"folder:{folder}", runs, tmp_path / "abl", tmp_path / "abl" / "real_0")
    first, second = (ablation.slug(*run) for run in runs)
    assert seen[0] == f"{first}={tmp_path / 'abl' / first / 'final.pt'}" and second in text
    report = json.loads((tmp_path / "abl" / "real_0" / "real_frames.json").read_text())
    pairs = [(b["a"], b["b"]) for b in report["bootstrap"]]
    assert (second, first) in pairs

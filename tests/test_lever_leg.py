"""scripts/lever_leg.sh: a lever leg continues the shipped weights with its overrides recorded."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from modot_ros.checkpoint import load_checkpoint
from tests.train_cases import tiny_caches  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parents[1]
TINY = ["data.crop_height=48", "data.crop_width=64", "data.batch_size=2"]


def _leg(tmp_path: Path, caches, budget: dict[str, str], overrides: list[str]) -> tuple[dict, dict]:
    """Run one tiny leg; (its checkpoint's training config, the shipped weights' run stats)."""
    env = os.environ | {"CACHE": str(caches[0]), "VAL_CACHE": str(caches[1]), "RUNS": str(tmp_path)} | budget
    subprocess.run(["bash", str(ROOT / "scripts/lever_leg.sh"), "t", *TINY, *overrides], env=env, check=True,
                   cwd=ROOT, capture_output=True, timeout=600)
    shipped = load_checkpoint(ROOT / "modot_ros/weights/modot_lite0.pt").training_config["run_stats"]
    return load_checkpoint(tmp_path / "lever_t" / "final.pt").training_config, shipped


def test_lever_leg_runs_one_step_from_the_shipped_weights(tmp_path, tiny_caches):  # noqa: F811
    """One step on tiny frames: the leg starts at the shipped step count and keeps its --set values."""
    config, shipped = _leg(tmp_path, tiny_caches, {"STEPS": "1"}, ["augment.greyscale_prob=0.5"])
    assert config["run_stats"]["steps"] == shipped["steps"] + 1
    assert config["augment"]["greyscale_prob"] == 0.5 and config["schedule"]["init_lr"] == "config"
    assert config["run_stats"]["lr"] <= 1.0e-4


def test_lever_leg_with_minutes_is_an_equal_time_leg(tmp_path, tiny_caches):  # noqa: F811
    """MINUTES: the budget is the shipped run's training time plus MINUTES; half-size steps run."""
    config, shipped = _leg(tmp_path, tiny_caches, {"MINUTES": "0.05"}, ["schedule.half_res_fraction=0.5"])
    leg = config["run_stats"]["legs"][-1]
    assert leg["time_budget_minutes"] == pytest.approx(shipped["train_seconds"] / 60 + 0.05, abs=1e-3)
    assert 3.0 <= leg["train_seconds"] < 10.0 and leg["end_step"] > shipped["steps"]
    assert config["schedule"]["half_res_fraction"] == 0.5

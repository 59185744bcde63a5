"""scripts/lever_leg.sh: a lever leg continues the shipped weights with its overrides recorded."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from modot_ros.checkpoint import load_checkpoint
from tests.train_cases import tiny_caches  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parents[1]


def test_lever_leg_runs_one_step_from_the_shipped_weights(tmp_path, tiny_caches):  # noqa: F811
    """One step on tiny frames: the leg starts at the shipped step count and keeps its --set values."""
    env = os.environ | {"CACHE": str(tiny_caches[0]), "VAL_CACHE": str(tiny_caches[1]), "STEPS": "1",
                        "RUNS": str(tmp_path)}
    overrides = ["data.crop_height=48", "data.crop_width=64", "data.batch_size=2", "augment.greyscale_prob=0.5"]
    subprocess.run(["bash", str(ROOT / "scripts/lever_leg.sh"), "t", *overrides], env=env, check=True,
                   cwd=ROOT, capture_output=True, timeout=600)
    shipped = load_checkpoint(ROOT / "modot_ros/weights/modot_lite0.pt").training_config["run_stats"]["steps"]
    config = load_checkpoint(tmp_path / "lever_t" / "final.pt").training_config
    assert config["run_stats"]["steps"] == shipped + 1
    assert config["augment"]["greyscale_prob"] == 0.5 and config["schedule"]["init_lr"] == "config"
    assert config["run_stats"]["lr"] <= 1.0e-4

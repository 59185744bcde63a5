"""Starting a training run: a killed save's leftovers are cleaned; a missing cache or a spent --init is one line."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

from modot_ros.checkpoint import save_checkpoint
from modot_ros.config import ModelConfig
from modot_ros.model.network import DepthBoundaryNet
from training.config import ScheduleConfig
from training.train import main
from training.trainer import init_leg_problem
from training.data.frames import DataError, load_cache
from training.trainer_state import ResumeError, load_state, remove_stale_temps
from tests.train_cases import TINY_MODEL


def _dead_pid() -> int:
    """The id of a process that has already exited."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_stale_temp_files_of_dead_writers_are_removed(tmp_path):
    """A save killed half-way leaves .last.pt.tmp<pid>; the next start deletes it, live writers' stay."""
    dead = tmp_path / f".last.pt.tmp{_dead_pid()}"
    live = tmp_path / f".last.pt.tmp{os.getppid()}"
    keep = [tmp_path / "last.pt", tmp_path / "notes.tmp1", live]
    for path in [dead, *keep]:
        path.write_bytes(b"x" * 10)
    assert remove_stale_temps(tmp_path) == [dead]
    assert not dead.exists() and all(p.exists() for p in keep)


def test_missing_frame_cache_is_one_line_with_the_command(tmp_path, capsys):
    """A fresh checkout without caches gets the command that builds them, not a traceback."""
    out = tmp_path / "run"
    out.mkdir()
    stale = out / f".last.pt.tmp{_dead_pid()}"
    stale.write_bytes(b"partial")
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({
        "model": dict(TINY_MODEL, pretrained_encoder=False),
        "data": {"train_cache": str(tmp_path / "none_train.pt"), "val_cache": str(tmp_path / "none_val.pt")},
        "run": {"threads": 1, "tensorboard": False}}))
    assert main(["--config", str(config), "--output", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == (f"error: frame cache {tmp_path / 'none_train.pt'} does not exist; build it first: "
                       f"python -m training.data.frames --split train --n 5000 --out {tmp_path / 'none_train.pt'}")
    assert not stale.exists() and "temp file(s) of an interrupted save" in err[0]


def test_damaged_resume_state_and_cache_are_one_line(tmp_path):
    """A torn last.pt or frame cache names the file and the fix, never torch's unsafe-loading advice."""
    (tmp_path / "last.pt").write_bytes(os.urandom(1000))
    with pytest.raises(ResumeError, match=r"last.pt: unreadable resume checkpoint \(not a torch "
                       r"checkpoint.*delete it to start over") as resume:
        load_state(tmp_path)
    (tmp_path / "cache.pt").write_bytes(b"")
    with pytest.raises(DataError, match=r"cache.pt: empty file \(0 bytes\).*render it again") as cache:
        load_cache(tmp_path / "cache.pt")
    assert "weights_only" not in str(resume.value) + str(cache.value)


@pytest.mark.parametrize("steps, seconds, schedule, line", [
    (12400, 0.0, {"max_steps": 6000}, "--init w.pt is at step 12400 and schedule.max_steps=6000: a --init leg "
     "continues the checkpoint's step count; set schedule.max_steps=18400 for 6000 more steps"),
    (12400, 0.0, {"max_steps": 12400}, "--init w.pt is at step 12400 and schedule.max_steps=12400: a --init leg "
     "continues the checkpoint's step count; set schedule.max_steps=24800 for 12400 more steps"),
    (100, 25740.2, {"max_steps": 200, "time_budget_minutes": 60}, "--init w.pt has trained 429.0 min and "
     "schedule.time_budget_minutes=60: a --init leg continues the checkpoint's training time; set "
     "schedule.time_budget_minutes=489 for 60 more minutes"),
    (100, 3600.0, {"max_steps": 200, "time_budget_minutes": 60}, "--init w.pt has trained 60.0 min and "
     "schedule.time_budget_minutes=60: a --init leg continues the checkpoint's training time; set "
     "schedule.time_budget_minutes=120 for 60 more minutes"),
    (100, 3599.0, {"max_steps": 101, "time_budget_minutes": 60}, None),  # one step and one second left: trains
    (100, 1e9, {"max_steps": 101, "time_budget_minutes": 0}, None),  # no time budget
])
def test_init_leg_that_would_train_no_step_is_named(steps, seconds, schedule, line):
    """max_steps and time_budget_minutes of a --init leg are run totals: one already reached is refused with the fix."""
    assert init_leg_problem("w.pt", steps, seconds, ScheduleConfig(**schedule)) == line


def test_init_leg_already_finished_is_refused_before_any_data(tmp_path, capsys):
    """The fine-tune that would write a final.pt identical to its start is one line and exit 2, nothing written."""
    model_config = ModelConfig(**dict(TINY_MODEL, decoder_channels=(16, 16, 16, 16)), pretrained_encoder=False)
    init = save_checkpoint(tmp_path / "init.pt", DepthBoundaryNet(model_config, pretrained=False), model_config,
                           training_config={"run_stats": {"steps": 12, "train_seconds": 30.0}})
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({  # no cache exists: refused before the data, or that would be the error
        "model": dict(TINY_MODEL, pretrained_encoder=False),
        "data": {"train_cache": str(tmp_path / "none_train.pt"), "val_cache": str(tmp_path / "none_val.pt")},
        "run": {"threads": 1, "tensorboard": False}}))
    out = tmp_path / "run"
    assert main(["--config", str(config), "--init", str(init), "--output", str(out),
                 "--set", "schedule.max_steps=6"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: --init {init} is at step 12 and schedule.max_steps=6: a --init leg continues the checkpoint's "
        "step count; set schedule.max_steps=18 for 6 more steps")
    assert not out.exists()

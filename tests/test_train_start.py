"""Starting a training run: leftovers of a killed save are cleaned, a missing cache is one line."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

from training.train import main
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

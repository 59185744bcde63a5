"""Resume after a hard kill (SIGKILL) and multi-process DDP training (gloo on CPU)."""
from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from modot_ros.checkpoint import load_checkpoint
from tests.train_cases import tiny_caches, write_config  # noqa: F401 (fixture)
from training.trainer_state import load_state

REPO = Path(__file__).resolve().parents[1]


def _steps(path: Path) -> list[int]:
    with open(path) as handle:
        return [int(r["step"]) for r in csv.DictReader(handle)]


def _train(config: Path, output: Path, *extra: str, **kwargs) -> subprocess.Popen:
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "training.train", "--config", str(config),
                             "--output", str(output), *extra], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kwargs)


def _wait_for_step(output: Path, proc: subprocess.Popen, step: int, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = load_state(output) if (output / "last.pt").is_file() else None
        if state is not None and state["step"] >= step:
            return state["step"]
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        time.sleep(0.1)
    raise AssertionError(f"no checkpoint at step >= {step} within {timeout} s")


@pytest.mark.slow
def test_resume_after_sigkill_continues_without_loss_or_duplicates(tmp_path, tiny_caches):  # noqa: F811
    """A run killed mid-training resumes from its last checkpoint; files stay intact, steps unique."""
    config = write_config(tmp_path / "c.yaml", tiny_caches, schedule={
        "max_steps": 200, "checkpoint_every": 2, "log_every": 1, "val_every": 0})
    out = tmp_path / "run"
    proc = _train(config, out)
    killed_at = _wait_for_step(out, proc, 6)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    state = load_state(out)  # the file a kill interrupted is complete and readable
    assert state["step"] >= killed_at
    assert not (out / "final.pt").exists()
    resumed = _train(config, out, "--resume", "--set", "schedule.max_steps=30")
    assert resumed.wait(300) == 0, resumed.stderr.read().decode()[-2000:]
    assert _steps(out / "train.csv") == list(range(1, 31))
    ckpt = load_checkpoint(out / "final.pt")
    assert ckpt.training_config["run_stats"]["steps"] == 30


@pytest.mark.slow
def test_two_process_ddp_run_on_gloo(tmp_path, tiny_caches):  # noqa: F811
    """torchrun with 2 CPU processes trains one model (each rank its own share of the batch)."""
    config = write_config(tmp_path / "c.yaml", tiny_caches, schedule={"max_steps": 3})
    out = tmp_path / "ddp"
    with socket.socket() as probe:  # a free port, so parallel test runs do not collide
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_port", str(port), "-m", "training.train", "--config", str(config),
           "--output", str(out)]
    done = subprocess.run(cmd, cwd=REPO, env=os.environ | {"OMP_NUM_THREADS": "1"},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    stats = load_checkpoint(out / "final.pt").training_config["run_stats"]
    assert stats["world_size"] == 2 and stats["images_seen"] == 3 * 2 * 2
    assert _steps(out / "train.csv") == [1, 2, 3]

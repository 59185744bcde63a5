"""Run state on disk: atomic resumable checkpoints and the CSV (+ TensorBoard) log.

A kill at any moment must leave either the previous or the new checkpoint, never a torn one:
files are written to a temporary name in the same directory, fsynced, then ``os.replace``d.
The CSV log is cut back to the resumed step, so steps never appear twice.
"""
from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

import torch

from modot_ros.checkpoint import CheckpointError, read_plain

RESUME_FORMAT = "modot_ros.train_state/1"
LAST = "last.pt"


class ResumeError(ValueError):
    """A resumable checkpoint that does not fit this run."""


def atomic_torch_save(payload: Any, path: str | Path) -> Path:
    """``torch.save`` to ``path`` via temp file + fsync + ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as handle:
        torch.save(payload, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    return path


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: existence check only
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_stale_temps(output: str | Path) -> list[Path]:
    """Delete ``.<name>.tmp<pid>`` files of ``atomic_torch_save`` whose writer is gone.

    A kill during a save leaves one behind (hundreds of MB each). A live writer keeps its file, so
    a second process on the same folder is never cut short. Returns the removed paths.
    """
    removed = []
    for path in sorted(Path(output).glob(".*.tmp*")):
        pid = path.name.rpartition(".tmp")[2]
        if path.is_file() and pid.isdigit() and int(pid) != os.getpid() and not _running(int(pid)):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def save_state(output: Path, *, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
               scaler: Any, step: int, elapsed_s: float, config: dict,
               best: dict | None = None, lr_anchor: list[float] | None = None,
               legs: list[dict] | None = None, pose_net: torch.nn.Module | None = None) -> Path:
    """Write the resumable state to ``output/last.pt``.

    It holds weights, optimiser, scaler, step and time, the LR anchor (progress, lr) of a
    resumed schedule, one record per training leg, and the pose network of self-supervised
    video sources without /tf (training-only: the runtime checkpoint never has it).
    """
    payload = {"format": RESUME_FORMAT, "model": model.state_dict(),
               "optimizer": optimizer.state_dict(),
               "scaler": scaler.state_dict() if scaler is not None else {},
               "step": int(step), "elapsed_s": float(elapsed_s), "config": config,
               "best": best or {}, "torch_rng": torch.get_rng_state(),
               "lr_anchor": list(lr_anchor) if lr_anchor else [], "legs": legs or [],
               "pose_net": pose_net.state_dict() if pose_net is not None else {}}
    return atomic_torch_save(payload, Path(output) / LAST)


def load_state(output: Path) -> dict | None:
    """The resumable state in ``output`` or None when the run has none yet."""
    path = Path(output) / LAST
    if not path.is_file():
        return None
    try:
        state = read_plain(path)
    except CheckpointError as error:
        raise ResumeError(f"{path}: unreadable resume checkpoint ({error.problem}); "
                          "delete it to start over") from None
    if not isinstance(state, dict) or state.get("format") != RESUME_FORMAT:
        raise ResumeError(f"{path} is not a {RESUME_FORMAT} resume checkpoint")
    return state


class RunLog:
    """Append-only CSV of named scalars per logged step (+ TensorBoard when it imports)."""

    def __init__(self, path: Path, resume_step: int = 0, tensorboard: bool = True) -> None:
        self.path = Path(path)
        self.fields: list[str] | None = None
        if self.path.exists():
            self._truncate(resume_step)
        self.writer = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
                self.writer = SummaryWriter(str(self.path.parent / "tb"))
            except ImportError:  # tensorboard is optional; the CSV is the record
                self.writer = None

    def _truncate(self, resume_step: int) -> None:
        """Keep complete rows with step <= resume_step (a killed run may have logged past it)."""
        text = self.path.read_text()
        rows = list(csv.DictReader(io.StringIO(text)))
        keep = [r for r in rows if r.get("step", "").isdigit() and int(r["step"]) <= resume_step
                and None not in r.values()]
        self.fields = list(rows[0].keys()) if rows else None
        buffer = io.StringIO()
        if self.fields:
            writer = csv.DictWriter(buffer, self.fields)
            writer.writeheader()
            writer.writerows(keep)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(buffer.getvalue())
        os.replace(tmp, self.path)

    def log(self, step: int, values: dict[str, float]) -> None:
        row = {"step": step} | {k: f"{float(v):.6g}" for k, v in values.items()}
        if self.fields is None:
            self.fields = list(row)
            with open(self.path, "w", newline="") as handle:
                csv.DictWriter(handle, self.fields).writeheader()
        if set(row) - set(self.fields):  # a term that starts later (e.g. OBDCL): widen
            self._rewrite(self.fields + [k for k in row if k not in self.fields])
        row = {k: row.get(k, "") for k in self.fields}
        with open(self.path, "a", newline="") as handle:
            csv.DictWriter(handle, self.fields).writerow(row)
        if self.writer is not None:
            for key, value in values.items():
                self.writer.add_scalar(key, float(value), step)

    def _rewrite(self, fields: list[str]) -> None:
        rows = list(csv.DictReader(io.StringIO(self.path.read_text())))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fields, restval="")
        writer.writeheader()
        writer.writerows(rows)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(buffer.getvalue())
        os.replace(tmp, self.path)
        self.fields = fields

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()

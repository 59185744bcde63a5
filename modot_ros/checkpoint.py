"""Checkpoint file: one ``torch.save`` dict of plain types and tensors.

It is read with ``torch.load(weights_only=True)``.

Keys: ``format`` (FORMAT_VERSION), ``state_dict``, ``model_config`` (ModelConfig.to_dict()),
``training_config``, ``data`` (dataset description), ``metrics`` and ``code_version``. Weights may
be stored in fp16 (``half=True``) and are cast back to fp32 on load.
"""
from __future__ import annotations

import pickle
import pickletools
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

from modot_ros.config import ConfigError, ModelConfig

FORMAT_VERSION = "modot_ros.checkpoint/1"
REQUIRED_KEYS = ("format", "state_dict", "model_config")
_PLAIN = (str, int, float, bool, type(None), torch.Tensor)


class CheckpointError(ValueError):
    """A checkpoint that is missing, unreadable, of the wrong format or incompatible."""

    def __init__(self, path: str | Path, problem: str) -> None:
        super().__init__(f"checkpoint {path}: {problem}")
        self.path, self.problem = str(path), problem


@dataclass
class Checkpoint:
    """Contents of a checkpoint file (state dict in fp32)."""

    state_dict: dict[str, torch.Tensor]
    model_config: ModelConfig
    training_config: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    code_version: str = ""


def default_weights_path() -> Path:
    """Where the embedded default weights live (package data, produced by the trainer)."""
    return Path(__file__).resolve().parent / "weights" / "modot_lite0.pt"


def code_version() -> str:
    try:
        return metadata.version("modot_ros")
    except metadata.PackageNotFoundError:
        return "unknown"


def _check_plain(value: Any, where: str) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, (str, int)):
                raise TypeError(f"checkpoint {where}: key {key!r} must be str or int")
            _check_plain(item, f"{where}.{key}")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_plain(item, f"{where}[{i}]")
    elif not isinstance(value, _PLAIN):
        raise TypeError(f"checkpoint {where}: {type(value).__name__} is not a plain type "
                        "(str/int/float/bool/None/tensor/list/dict); weights_only loading would fail")


def save_checkpoint(path: str | Path, model: torch.nn.Module, model_config: ModelConfig, *,
                    training_config: dict | None = None, data: dict | None = None,
                    metrics: dict | None = None, half: bool = False) -> Path:
    """Write ``model``'s weights and the run's description to ``path``; returns the path."""
    state = {k: (v.half() if half and v.is_floating_point() else v).detach().cpu().clone()
             for k, v in model.state_dict().items()}
    payload = {"format": FORMAT_VERSION, "state_dict": state, "model_config": model_config.to_dict(),
               "training_config": training_config or {}, "data": data or {},
               "metrics": metrics or {}, "code_version": code_version()}
    _check_plain(payload, "payload")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(payload, path)
    return path


ZIP_MAGIC = b"PK\x03\x04"  # torch.save's format since torch 1.6
PICKLE_PROTOCOL_2_PLUS = 0x80  # first byte of the legacy (pre-1.6) torch.save format
RETRAIN_HINT = "use a checkpoint written by modot_ros (python -m training.train or training.export)"


def _file_problem(path: Path) -> str | None:
    """What is wrong with the file before unpickling anything (None: worth a ``torch.load``)."""
    size = path.stat().st_size
    if size == 0:
        return "empty file (0 bytes): the copy or download did not finish; copy it again"
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(ZIP_MAGIC):
        try:
            zipfile.ZipFile(path).close()  # reads the central directory at the end of the file
        except zipfile.BadZipFile:
            return f"truncated or corrupt ({size} bytes, no zip directory at the end); copy it again"
        return None
    if head[0] == PICKLE_PROTOCOL_2_PLUS:
        return None
    kind = "a text/JSON file" if head.lstrip()[:1] in (b"{", b"[") else f"unknown bytes {head[:4].hex()}"
    return f"not a torch checkpoint ({kind}); {RETRAIN_HINT}"


def _pickled_callable(path: Path) -> str | None:
    """The first callable a plain pickle file imports, read without running it (None: none found)."""
    strings: list[str] = []
    try:
        with path.open("rb") as handle:
            for opcode, arg, _ in pickletools.genops(handle):
                if opcode.name == "GLOBAL":
                    return str(arg).replace(" ", ".")
                if opcode.name == "STACK_GLOBAL" and len(strings) >= 2:
                    return ".".join(strings[-2:])
                if isinstance(arg, str):
                    strings.append(arg)
    except Exception:  # noqa: BLE001 - not a readable pickle: nothing to name
        return None
    return None


def _load_problem(error: Exception, path: Path) -> str:
    """One line for a failed ``torch.load``, never torch's own text, which suggests unsafe loading."""
    blocked = re.search(r"GLOBAL (\S+)", str(error))
    name = blocked.group(1) if blocked else (
        _pickled_callable(path) if isinstance(error, pickle.UnpicklingError) else None)
    if name:
        return (f"refused: the file holds Python objects ({name}), which could run code; only "
                f"tensors and plain values are loaded; {RETRAIN_HINT}")
    size = path.stat().st_size
    if isinstance(error, pickle.UnpicklingError):
        return f"not a torch checkpoint (unreadable pickle data); {RETRAIN_HINT}"
    return f"truncated or corrupt ({size} bytes; {type(error).__name__}); copy it again"


def _describe_foreign(payload: dict) -> str:
    """Why a dict that torch could read is still not one of our checkpoints."""
    if payload and all(isinstance(v, torch.Tensor) for v in payload.values()):
        return (f"a bare state_dict ({len(payload)} tensors, e.g. {next(iter(payload))!r}) without "
                f"the model config; {RETRAIN_HINT}")
    missing = [k for k in REQUIRED_KEYS if k not in payload]
    return f"not a modot_ros checkpoint (missing keys {missing}); {RETRAIN_HINT}"


def read_plain(path: str | Path) -> Any:
    """``torch.load(path, weights_only=True)``; every failure is one CheckpointError line."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(path, "not a regular file" if path.exists() else "file does not exist; check the path")
    problem = _file_problem(path)
    if problem:
        raise CheckpointError(path, problem)
    try:
        with warnings.catch_warnings():  # torch's notes on pickle protocols only add noise here
            warnings.simplefilter("ignore", UserWarning)
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - torch raises many types for damaged files
        raise CheckpointError(path, _load_problem(error, path)) from None


def _read(path: Path) -> dict:
    payload = read_plain(path)
    if not isinstance(payload, dict):
        raise CheckpointError(path, f"expected a dict, found {type(payload).__name__}; {RETRAIN_HINT}")
    if any(k not in payload for k in REQUIRED_KEYS):
        raise CheckpointError(path, _describe_foreign(payload))
    if payload["format"] != FORMAT_VERSION:
        raise CheckpointError(path, f"format {payload['format']!r}, this code reads {FORMAT_VERSION!r}")
    state = payload["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(path, "state_dict is not a dict of tensors (file damaged or hand-edited); "
                              "copy it again")
    return payload


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read and validate a checkpoint (no model is built)."""
    path = Path(path)
    payload = _read(path)
    try:
        # Checkpoints written before depth_param existed used the inverse-linear means.
        config = ModelConfig.from_dict({"depth_param": "inverse_linear"} | payload["model_config"])
    except (ConfigError, TypeError) as error:
        raise CheckpointError(path, f"incompatible model config: {error}") from error
    state = {k: v.float() if v.is_floating_point() else v for k, v in payload["state_dict"].items()}
    return Checkpoint(state, config, payload.get("training_config", {}), payload.get("data", {}),
                      payload.get("metrics", {}), payload.get("code_version", ""))


def load_state_strict(model: torch.nn.Module, state: dict[str, torch.Tensor],
                      path: str | Path) -> None:
    """Strict load that reports missing/unexpected/mis-shaped keys as one CheckpointError."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [f"{k}: {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
              for k in own.keys() & state.keys() if own[k].shape != state[k].shape]
    if missing or unexpected or shapes:
        raise CheckpointError(path, f"weights do not match the model config: missing keys "
                              f"{missing[:10]}{'...' if len(missing) > 10 else ''}, unexpected keys "
                              f"{unexpected[:10]}{'...' if len(unexpected) > 10 else ''}, "
                              f"shape mismatches {shapes[:5]}")
    model.load_state_dict(state, strict=True)


def build_model(path: str | Path) -> tuple[torch.nn.Module, Checkpoint]:
    """Build the network a checkpoint describes and load its weights (strict); eval mode, CPU."""
    from modot_ros.model.network import DepthBoundaryNet  # torch model code only when needed

    checkpoint = load_checkpoint(path)
    model = DepthBoundaryNet(checkpoint.model_config, pretrained=False)
    load_state_strict(model, checkpoint.state_dict, path)
    return model.eval(), checkpoint

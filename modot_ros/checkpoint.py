"""Checkpoint file: one ``torch.save`` dict of plain types and tensors.

It is read with ``torch.load(weights_only=True)``.

Keys: ``format`` (FORMAT_VERSION), ``state_dict``, ``model_config`` (ModelConfig.to_dict()),
``training_config``, ``data`` (dataset description), ``metrics`` and ``code_version``. Weights may
be stored in fp16 (``half=True``) and are cast back to fp32 on load.
"""
from __future__ import annotations

import pickle
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


def _read(path: Path) -> dict:
    if not path.is_file():
        raise CheckpointError(path, "file does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, zipfile.BadZipFile, RuntimeError, EOFError, OSError) as error:
        raise CheckpointError(path, f"not a readable torch checkpoint (truncated or corrupt?): "
                              f"{str(error).splitlines()[0]}") from error
    if not isinstance(payload, dict):
        raise CheckpointError(path, f"expected a dict, found {type(payload).__name__}")
    missing = [k for k in REQUIRED_KEYS if k not in payload]
    if missing:
        raise CheckpointError(path, f"not a modot_ros checkpoint: missing keys {missing}")
    if payload["format"] != FORMAT_VERSION:
        raise CheckpointError(path, f"format {payload['format']!r}, this code reads {FORMAT_VERSION!r}")
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

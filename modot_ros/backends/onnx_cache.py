"""Exported ONNX graphs cached per user, keyed by weights, network code, input size, opset, precision.

A graph is exported from the in-memory model on first use (about a second for lite0) and reused
by later starts. Each ``.onnx`` has a ``.json`` sidecar holding its key and the file's sha256;
a graph whose sidecar is missing, unreadable or disagrees (other key, other bytes: stale or
corrupt) is exported again, never trusted. Files are written under temporary names and renamed,
so a crash or a second process exporting at the same time never leaves a half-written graph.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import numpy as np
import torch

from modot_ros.backends.onnx_graph import ONNX_OPSET, export_graph, parity_errors

CACHE_ENV = "MODOT_ROS_CACHE"
GRAPH_PRECISION = "fp32"  # fp16 engines are built from the fp32 graph by TensorRT itself
_CODE = (Path(__file__).resolve().parents[1] / "model", Path(__file__).resolve().parent / "onnx_graph.py")
log = logging.getLogger("modot_ros.backends")


def cache_dir(override: str | Path | None = None) -> Path:
    """``override``, else $MODOT_ROS_CACHE, else $XDG_CACHE_HOME/modot_ros (~/.cache/modot_ros)."""
    if override:
        return Path(override).expanduser()
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(xdg) / "modot_ros"


def _code_files() -> list[Path]:
    return sorted(p for root in _CODE for p in ([root] if root.is_file() else root.rglob("*.py")))


def graph_key(model: torch.nn.Module, input_size: tuple[int, int], opset: int = ONNX_OPSET) -> str:
    """sha256 over the weights, the model config, the network code and the export settings.

    The weights are hashed rather than the checkpoint file, so random-weight models and models
    loaded from any path share one rule; the code is hashed so an edited network is re-exported.
    """
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(tensor.detach().cpu().numpy()).tobytes())
    digest.update(json.dumps(model.config.to_dict(), sort_keys=True).encode())
    for path in _code_files():
        digest.update(path.read_bytes())
    digest.update(f"{input_size}|{opset}|{GRAPH_PRECISION}|torch {torch.__version__}".encode())
    return digest.hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def record_matches(sidecar: Path, key: str, files: dict[str, Path]) -> bool:
    """The sidecar names this key and each file's bytes are the ones it recorded under its field."""
    try:
        record = json.loads(sidecar.read_text())
        return record.get("key") == key and all(record.get(field) == _file_sha256(path)
                                                for field, path in files.items())
    except (OSError, ValueError, AttributeError):
        return False


def write_record(sidecar: Path, record: dict, files: dict[str, Path]) -> None:
    """Write ``record`` plus each file's sha256 (under its field) atomically next to the files."""
    record = record | {field: _file_sha256(path) for field, path in files.items()}
    tmp = sidecar.with_name(f".{sidecar.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record, indent=1))
    os.replace(tmp, sidecar)


def _writable_folder(folder: Path) -> Path:
    """``folder``, created if needed; one line naming the setting to change when it cannot be."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OSError(f"cannot create the ONNX cache folder {folder} ({error.strerror or error}); "
                      f"set onnx_cache or ${CACHE_ENV} to a writable folder") from error
    return folder


def _build(model: torch.nn.Module, graph: Path, sidecar: Path, key: str,
           input_size: tuple[int, int], opset: int) -> None:
    tmp = graph.with_name(f".{graph.name}.{os.getpid()}.tmp")
    try:
        export_graph(model, tmp, input_size, opset)
        errors = parity_errors(model, tmp, input_size)
        os.replace(tmp, graph)
    finally:
        tmp.unlink(missing_ok=True)
    record = {"key": key, "input_size": list(input_size), "opset": opset, "precision": GRAPH_PRECISION,
              "parity_max_abs": errors}
    write_record(sidecar, record, {"sha256": graph})


def cached_graph(model: torch.nn.Module, input_size: tuple[int, int], folder: str | Path | None = None,
                 opset: int = ONNX_OPSET) -> Path:
    """Path of a checked ONNX graph of ``model`` at ``input_size`` = (width, height), exporting if needed."""
    folder = _writable_folder(cache_dir(folder))
    key = graph_key(model, input_size, opset)
    cfg = model.config
    stem = f"{cfg.encoder}-{cfg.variant}-{input_size[0]}x{input_size[1]}-opset{opset}-{GRAPH_PRECISION}-{key[:16]}"
    graph, sidecar = folder / f"{stem}.onnx", folder / f"{stem}.json"
    if graph.is_file() and record_matches(sidecar, key, {"sha256": graph}):
        return graph
    if graph.exists() or sidecar.exists():
        log.warning("ONNX cache %s is stale or corrupt: exporting it again", graph)
    try:
        _build(model, graph, sidecar, key, input_size, opset)
    except OSError as error:
        raise OSError(f"cannot write the ONNX graph {graph} ({error.strerror or error}); "
                      f"set onnx_cache or ${CACHE_ENV} to a writable folder") from error
    return graph

"""Import timm where torchvision's compiled ops cannot load.

timm imports torchvision at import time. PyPI's torchvision wheels are CUDA builds, so beside
a CPU-only torch (our pinned ``torch==2.13.0+cpu``) their ``_C`` ops library cannot load; torchvision
is meant to work without it, but 0.28 still registers fake kernels for ``torchvision::nms`` and
``torchvision::qnms`` and then fails at import. Declaring the two operator schemas first lets
torchvision (and so timm) import; neither op is used by our models.
"""
from __future__ import annotations

import importlib
import sys
from types import ModuleType

import torch

_TORCHVISION_FAKE_OPS = ("nms", "qnms")
_NMS_SCHEMA = "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor"


def _declare_missing_torchvision_ops() -> None:
    for name in _TORCHVISION_FAKE_OPS:
        if not hasattr(torch.ops.torchvision, name):
            torch.library.define(f"torchvision::{name}", _NMS_SCHEMA)


def import_timm() -> ModuleType:
    """Return the ``timm`` module, working around torchvision's missing ops on CPU-only torch."""
    try:
        return importlib.import_module("timm")
    except RuntimeError as error:
        if "torchvision::" not in str(error):
            raise
    # Drop the half-imported modules so the retry starts clean.
    for name in [m for m in sys.modules if m.split(".")[0] in ("timm", "torchvision")]:
        del sys.modules[name]
    _declare_missing_torchvision_ops()
    return importlib.import_module("timm")

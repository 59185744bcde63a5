"""Network forward backends behind ``DepthBoundaryEstimator``: torch, onnxruntime, TensorRT.

Only the network forward differs between backends; preprocessing, mixture read-out, resampling
and everything after stay shared code in ``modot_ros.inference``. ``auto`` takes the first
backend that starts, in a fixed order: on CUDA ``tensorrt`` then ``torch`` (onnxruntime's CUDA
provider runs fp32 and does not beat torch's fp16 autocast), on CPU ``onnxruntime`` then ``torch``.
Nothing here imports torch or onnxruntime at import time (``NodeConfig`` reads ``BACKENDS``).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

BACKENDS = ("auto", "torch", "onnxruntime", "tensorrt")
log = logging.getLogger("modot_ros.backends")


def auto_order(device_type: str) -> list[str]:
    """The order ``auto`` tries backends in on a 'cpu' or 'cuda' device."""
    return ["tensorrt", "torch"] if device_type == "cuda" else ["onnxruntime", "torch"]


def _onnx_forward(backend: str, model, device, precision: str, threads: int, cache: str | Path | None):
    from modot_ros.backends.onnx_cache import cached_graph
    from modot_ros.backends.onnxruntime_forward import OnnxRuntimeForward, provider_list

    if backend == "onnxruntime" and device.type == "cuda" and precision == "fp16":
        raise ValueError("backend onnxruntime runs an fp32 graph; for fp16 on CUDA use backend "
                         "tensorrt or torch")
    try:
        import onnxruntime  # noqa: F401 - a clear line instead of a traceback
    except ImportError as error:
        raise ValueError(f"backend {backend} needs the onnxruntime package ({error}); pip install "
                         "onnxruntime, or use backend torch") from error
    providers = provider_list(backend, device, precision != "fp32", cache)
    size = (model.config.input_width, model.config.input_height)
    return OnnxRuntimeForward(cached_graph(model.cpu().eval(), size, cache), device, providers, threads)


def make_forward(backend: str, model, device: "torch.device", precision: str, *, threads: int = 0,
                 compile: bool = False, cache: str | Path | None = None):
    """The forward for ``backend`` (one of BACKENDS); ``auto`` falls through failures to torch.

    A forward maps the (B, 3, h, w) network input on ``device`` to (depth params, OB logits) and
    has a ``name`` for logs. precision: 'auto' | 'fp32' | 'fp16' as checked by the estimator. threads: CPU threads for
    the forward (torch sets them process-wide); 0 keeps the library default.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend {backend!r}; allowed: {', '.join(BACKENDS)}")
    if compile and backend not in ("torch", "auto"):
        raise ValueError(f"compile applies to backend torch only, not {backend}")
    order = (["torch"] if compile else auto_order(device.type)) if backend == "auto" else [backend]
    for name in order:
        if name == "torch":
            from modot_ros.backends.torch_forward import TorchForward

            import torch
            if threads:
                torch.set_num_threads(threads)
            return TorchForward(model, device, device.type == "cuda" and precision != "fp32", compile)
        try:
            return _onnx_forward(name, model, device, precision, threads, cache)
        except Exception as error:  # noqa: BLE001 - auto moves on; an explicit choice reports it
            if backend != "auto":
                raise
            log.warning("backend auto: %s unavailable (%s); trying the next", name,
                        str(error).splitlines()[0])
    raise AssertionError("auto_order always ends with torch")

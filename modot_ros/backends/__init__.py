"""Network forward backends behind ``DepthBoundaryEstimator``: torch, onnxruntime, OpenVINO, TensorRT.

Only the network forward differs between backends; preprocessing, mixture read-out, resampling
and everything after stay shared code in ``modot_ros.inference``. ``auto`` times every backend
that starts on a few forwards and keeps the fastest (``modot_ros.backends.auto``); a backend
that fails to start is skipped with one line saying why. Nothing here imports torch,
onnxruntime or openvino at import time (``NodeConfig`` reads ``BACKENDS``).
"""
from __future__ import annotations

import functools
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

BACKENDS = ("auto", "torch", "onnxruntime", "openvino", "tensorrt")
# Intel GPUs and NPUs are reached only through OpenVINO; torch's own work then stays on the CPU
OPENVINO_DEVICES = re.compile(r"^(gpu(\.\d+)?|npu)$")
log = logging.getLogger("modot_ros.backends")


def split_device(device: str) -> tuple[str, str | None]:
    """(device for torch's pre/post-processing, OpenVINO accelerator or None) of a ``device`` setting.

    'gpu', 'gpu.N' and 'npu' name OpenVINO devices ('GPU', 'GPU.N', 'NPU'); anything else is torch's.
    """
    text = str(device).lower()
    return ("cpu", text.upper()) if OPENVINO_DEVICES.match(text) else (device, None)


def auto_order(device_type: str, accelerator: str | None = None) -> list[str]:
    """The backends ``auto`` tries, in order, on a 'cpu' or 'cuda' device or an OpenVINO accelerator.

    torch comes last: its OpenMP threads spin-wait after a forward and would slow the engine timed
    next, and it moves the model to its device and layout in place.
    """
    if accelerator:
        return ["openvino", "torch"]
    return ["tensorrt", "torch"] if device_type == "cuda" else ["onnxruntime", "openvino", "torch"]


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


def _openvino_forward(model, device, precision: str, threads: int, cache: str | Path | None,
                      accelerator: str | None):
    if device.type != "cpu":
        raise ValueError(f"backend openvino runs on an Intel CPU, GPU or NPU, not {device}; use device "
                         "cpu, gpu or npu, or backend tensorrt or torch on CUDA")
    try:
        import openvino  # noqa: F401 - a clear line instead of a traceback
    except ImportError as error:
        raise ValueError(f"backend openvino needs the openvino package ({error}); pip install openvino, "
                         "or use backend onnxruntime or torch") from error
    from modot_ros.backends.openvino_forward import OpenVinoForward, cached_ir, compile_properties

    name = accelerator or "CPU"
    size = (model.config.input_width, model.config.input_height)
    return OpenVinoForward(cached_ir(model.cpu().eval(), size, cache), name, size,
                           compile_properties(name, precision, threads, cache))


def _build(name: str, model, device, precision: str, threads: int, compile: bool,
           cache: str | Path | None, accelerator: str | None):
    """The forward of one named backend (not auto); ValueError/OSError when it cannot start."""
    if name == "torch":
        from modot_ros.backends.torch_forward import TorchForward

        import torch
        if threads:
            torch.set_num_threads(threads)
        return TorchForward(model, device, device.type == "cuda" and precision != "fp32", compile)
    if name == "openvino":
        return _openvino_forward(model, device, precision, threads, cache, accelerator)
    return _onnx_forward(name, model, device, precision, threads, cache)


def make_forward(backend: str, model, device: "torch.device", precision: str, *, threads: int = 0,
                 compile: bool = False, cache: str | Path | None = None, accelerator: str | None = None):
    """The forward for ``backend`` (one of BACKENDS); ``auto`` times the candidates and keeps the fastest.

    A forward maps the (B, 3, h, w) network input on ``device`` to (depth params, OB logits), has a
    ``name`` for logs and a ``choice`` (how auto picked it, else empty). precision: 'auto' | 'fp32'
    | 'fp16' as checked by the estimator. threads: CPU threads of the forward (torch sets them
    process-wide); 0 keeps the library default. accelerator: an OpenVINO device ('GPU', 'NPU'; see
    ``split_device``), run by backend openvino while ``device`` is the CPU.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend {backend!r}; allowed: {', '.join(BACKENDS)}")
    if compile and backend not in ("torch", "auto"):
        raise ValueError(f"compile applies to backend torch only, not {backend}")
    if accelerator and backend not in ("openvino", "auto"):
        raise ValueError(f"device {accelerator.lower()} is reached through OpenVINO only: use backend "
                         f"openvino or auto, not {backend}")
    build = functools.partial(_build, model=model, device=device, precision=precision, threads=threads,
                              compile=compile, cache=cache, accelerator=accelerator)
    if backend != "auto":
        return build(backend)
    if compile:  # only torch compiles: nothing to compare
        return build("torch")
    import torch

    from modot_ros.backends.auto import fastest, probe_input

    torch_threads = torch.get_num_threads()
    forward = fastest(auto_order(device.type, accelerator), build, probe_input(model.config, device))
    if forward.name != "torch":  # timing torch set its pool process-wide; leave pre/post as a named backend does
        torch.set_num_threads(torch_threads)
    return forward

"""The network as an ONNX graph: export with a dynamic batch and an onnxruntime-vs-torch check.

The graph takes ``image`` (B, 3, H, W) RGB in [0, 1] at the network input size and returns the
activated canonical depth parameters and/or OB logits (``NetworkOutput`` minus the training-only
side outputs), named ``depth_params`` and ``boundary_logits``. Used by the runtime cache
(``modot_ros.backends.onnx_cache``) and by ``python -m training.export --onnx``.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

ONNX_OPSET = 17
INPUT_NAME = "image"


class ExportError(RuntimeError):
    """An exported (or converted) graph whose outputs do not match the torch model."""


class OnnxOutputs(torch.nn.Module):
    """Plain-tensor outputs for ONNX: (depth_params?, boundary_logits?)."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor):
        out = self.model(image)
        return tuple(t for t in (out.depth_params, out.boundary_logits) if t is not None)


def output_names(config) -> list[str]:
    """Graph outputs of a ``ModelConfig``, in the order the graph returns them."""
    return [name for name, on in (("depth_params", config.predicts_depth),
                                  ("boundary_logits", config.predicts_boundary)) if on]


def _probe(size: tuple[int, int]) -> torch.Tensor:
    """Fixed pseudo-random image (1, 3, h, w) at ``size`` = (width, height)."""
    return torch.rand(1, 3, size[1], size[0], generator=torch.Generator().manual_seed(0))


def export_graph(model: torch.nn.Module, target: str | Path, input_size: tuple[int, int],
                 opset: int = ONNX_OPSET) -> Path:
    """Write ``model`` (CPU, any mode) as ONNX at ``input_size`` = (width, height); batch is dynamic."""
    wrapper = OnnxOutputs(model).eval()
    names = output_names(model.config)
    axes = {name: {0: "batch"} for name in (INPUT_NAME, *names)}
    with warnings.catch_warnings():
        # shape checks inside the model trace to constants: right for a fixed input size
        warnings.simplefilter("ignore")
        torch.onnx.export(wrapper, (_probe(input_size),), str(target), input_names=[INPUT_NAME],
                          output_names=names, opset_version=opset, dynamic_axes=axes, dynamo=False)
    return Path(target)


def _onnxruntime_cpu(graph: str | Path):
    import onnxruntime

    session = onnxruntime.InferenceSession(str(graph), providers=["CPUExecutionProvider"])
    return lambda image: session.run(None, {INPUT_NAME: image})


def parity_errors(model: torch.nn.Module, graph: str | Path, input_size: tuple[int, int],
                  atol: float = 1e-3, engine=None, engine_name: str = "onnxruntime") -> dict[str, float]:
    """Max |engine - torch| per output on a fixed image; ``ExportError`` above ``atol``.

    engine: maps the (1, 3, h, w) float32 image to the graph's outputs in order; default an
    onnxruntime CPU session on ``graph`` (other engines pass their own converted graph's runner).
    """
    image = _probe(input_size)
    with torch.inference_mode():
        expected = OnnxOutputs(model).eval()(image)
    got = (engine or _onnxruntime_cpu(graph))(image.numpy())
    names = output_names(model.config)
    errors = {name: float(np.abs(g - e.numpy()).max()) for name, g, e in zip(names, got, expected)}
    bad = {k: v for k, v in errors.items() if not v <= atol}
    if bad:
        raise ExportError(f"graph {graph}: {engine_name} differs from torch by {bad} (tolerance "
                          f"{atol}); report it with the torch and {engine_name} versions")
    return errors

"""The network forward in torch (the reference every other backend is checked against)."""
from __future__ import annotations

import contextlib

import torch


class TorchForward:
    """(B, 3, h, w) float tensor on ``device`` -> (depth params, OB logits fp32), None if absent.

    half: fp16 autocast (CUDA only). compile: wrap the network in ``torch.compile``.
    """

    name = "torch"
    choice = ""  # how backend auto chose it; empty when named explicitly

    def __init__(self, model: torch.nn.Module, device: torch.device, half: bool, compile: bool) -> None:
        self.model = model.eval().to(device, memory_format=torch.channels_last)
        self.half = half
        self._forward = torch.compile(self.model) if compile else self.model
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed input size: pick the fastest kernels

    def _autocast(self):
        if self.half:
            return torch.autocast(device_type="cuda", dtype=torch.float16)
        return contextlib.nullcontext()

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        with torch.inference_mode(), self._autocast():
            out = self._forward(x)
        logits = None if out.boundary_logits is None else out.boundary_logits.float()
        return out.depth_params, logits

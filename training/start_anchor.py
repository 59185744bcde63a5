"""A pull back toward the weights a fine-tune started from (L2-SP), against forgetting.

Li, Grandvalet & Davoine, ICML 2018, "Explicit inductive bias for transfer learning with
convolutional networks": a penalty on the distance to the *starting* weights, not to zero, keeps a
fine-tuned network near what it knew while it learns the new data. Applied decoupled, as AdamW
applies weight decay (Loshchilov & Hutter, ICLR 2019): after each optimiser step every parameter
moves toward its start by ``lr * optim.start_decay`` of the gap. Through the gradient instead, Adam
would rescale the pull per parameter and make it as strong on weights the new data barely
touches as on those it moves most.

``optim.start_decay`` is the strength (0: off). Adam moves a parameter by about the LR per step,
so the pull balances it where the gap is about ``1 / start_decay``: 50 keeps weights within
~0.02 of their start. Only parameters are pulled; BatchNorm statistics follow the data.
``optim.start_decay_depth`` sets the depth decoder's and head's own strength (``DEPTH_PARTS``).
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from modot_ros.checkpoint import load_checkpoint


DEPTH_PARTS = ("depth_decoder.", "depth_head.")  # DepthBoundaryNet's depth side (model/network.py)


class StartAnchor:
    """The start weights of a model's parameters and the decoupled pull toward them."""

    def __init__(self, model: nn.Module, start_state: dict[str, torch.Tensor], strength: float,
                 depth_strength: float | None = None) -> None:
        """``depth_strength``: the pull on ``DEPTH_PARTS`` (None: ``strength``)."""
        depth_strength = strength if depth_strength is None else depth_strength
        self._start = {id(p): start_state[name].detach().to(p.device, p.dtype).clone()
                       for name, p in model.named_parameters()}
        self._strength = {id(p): depth_strength if name.startswith(DEPTH_PARTS) else strength
                          for name, p in model.named_parameters()}

    @classmethod
    def from_checkpoint(cls, path: str | Path, model: nn.Module, strength: float,
                        depth_strength: float | None = None) -> "StartAnchor":
        """The anchor at a runtime checkpoint's weights (a resumed leg reads its --init again)."""
        return cls(model, load_checkpoint(path).state_dict, strength, depth_strength)

    @torch.no_grad()
    def pull(self, optimizer: torch.optim.Optimizer) -> None:
        """Move every anchored parameter toward its start by its group's LR times its strength."""
        for group in optimizer.param_groups:
            for p in group["params"]:
                if (start := self._start.get(id(p))) is not None and (strength := self._strength[id(p)]) > 0:
                    p.lerp_(start, min(1.0, group["lr"] * strength))

    @torch.no_grad()
    def drift(self, model: nn.Module) -> torch.Tensor:
        """||θ − θ₀|| / ||θ₀|| over the anchored parameters (logged: how far the fine-tune went)."""
        gap = sum(((p - self._start[id(p)]) ** 2).sum() for p in model.parameters() if id(p) in self._start)
        norm = sum((s ** 2).sum() for s in self._start.values())
        return torch.sqrt(gap / norm)

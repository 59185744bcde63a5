"""Keeping the ImageNet encoder's features: a lower encoder LR, a frozen start (LP-FT), frozen for good.

Also the fine-tune's BatchNorm statistics, kept at the start's (``optim.freeze_norm_stats``).

Kumar et al., ICLR 2022, "Fine-tuning can distort pretrained features and underperform
out-of-distribution": training a fresh decoder and the pretrained encoder together from the
start lets the decoder's early, large, random gradients rewrite the encoder's features. Training
the decoder first (``optim.encoder_frozen_steps``), or the encoder slower
(``optim.encoder_lr_scale``), keeps more of what ImageNet taught it, which is the part of the
network that has seen real images (the decoder has only seen the renderer).

The optimiser has two parameter groups, the encoder's first, each with an ``lr_scale`` the
trainer multiplies its scheduled LR by. Their flat parameter order is that of the single group
the trainer used before, so the optimiser state of older runs still resumes (``fit_saved_groups``).
"""
from __future__ import annotations

import torch
from torch import nn

from training.config import OptimConfig


def param_groups(model: nn.Module, others: list[nn.Module | None], optim: OptimConfig) -> list[dict]:
    """[encoder group, everything else] of ``model`` (a ``DepthBoundaryNet``) and ``others``."""
    encoder = list(model.encoder.parameters())
    ids = {id(p) for p in encoder}
    rest = [p for m in (model, *others) if m is not None for p in m.parameters() if id(p) not in ids]
    return [{"params": encoder, "lr_scale": optim.encoder_lr_scale},
            {"params": rest, "lr_scale": 1.0}]


def encoder_frozen(optim: OptimConfig, step: int) -> bool:
    """Whether the encoder is frozen at this (global, 0-based) step."""
    return optim.encoder_lr_scale == 0.0 or step < optim.encoder_frozen_steps


def set_encoder_frozen(model: nn.Module, frozen: bool) -> None:
    """Freeze or release ``model.encoder``; call before every step, after any ``model.train()``.

    Frozen: no parameter asks for a gradient, so autograd records nothing in the encoder and its
    backward pass is skipped (most of the step's cost on CPU). Its BatchNorm layers run on their
    running statistics and keep them: a frozen encoder's features must not drift with the noisy
    statistics of small batches either. Released: the encoder follows the model's train/eval mode.
    """
    encoder = model.encoder
    for p in encoder.parameters():
        p.requires_grad_(not frozen)
    encoder.train(model.training and not frozen)


def freeze_norm_statistics(model: nn.Module) -> None:
    """Every BatchNorm layer of ``model`` to its running statistics (``optim.freeze_norm_stats``).

    Call after every ``model.train()``. A fine-tune's batches are small and half of them come from
    one camera: statistics re-estimated from them shift the features of every other image, the
    engine's rooms included (BatchNorm statistics alone from a camera's stills wrecked the
    synthetic test, experiment log 21). The affine weights still train.
    """
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.eval()


def fit_saved_groups(saved: dict, optimizer: torch.optim.Optimizer) -> dict:
    """``saved`` (an optimiser state dict) laid out as ``optimizer``'s groups, for ``load_state_dict``.

    An older run saved one group, and a resumed leg may change ``encoder_lr_scale``: the per-
    parameter state is kept (it is indexed in the shared flat order), the group layout and each
    group's ``lr_scale`` come from this run; the other hyperparameters stay the saved ones, as they
    did before. A different parameter count is left for ``load_state_dict`` to report.
    """
    sizes = [len(g["params"]) for g in optimizer.param_groups]
    old = saved["param_groups"]
    if sum(len(g["params"]) for g in old) != sum(sizes):
        return saved
    same_layout = [len(g["params"]) for g in old] == sizes
    groups, start = [], 0
    for i, (group, size) in enumerate(zip(optimizer.param_groups, sizes)):
        settings = old[i if same_layout else 0]
        groups.append(settings | {"params": list(range(start, start + size)),
                                  "lr_scale": group["lr_scale"]})
        start += size
    return saved | {"param_groups": groups}

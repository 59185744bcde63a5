"""The MoDOT + mixture-depth network: encoder -> OB features -> depth decoder with CASM -> heads.

Variants (``ModelConfig.variant``) for the ablation study: ``modot`` (joint, CASM per depth
stage), ``joint`` (shared encoder, no CASM), ``depth`` (single-task depth), ``boundary``
(single-task OB). Submodule names are checkpoint keys: keep them.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from modot_ros.config import ModelConfig
from modot_ros.model.blocks import upsample_to
from modot_ros.model.decoders import BoundaryDecoder, DepthDecoder
from modot_ros.model.encoder import PRETRAINED_ENCODERS, Encoder
from modot_ros.model.heads import BoundaryHead, DepthHead


class NetworkOutput(NamedTuple):
    """What the network returns (``None`` for a task the variant does not have).

    boundary_logits: (B, 1, H, W) OB logits at the input size (sigmoid -> probability).
    boundary_side_logits: deep-supervision logits, each (B, 1, H, W) at the input size, coarse
        to fine (strides 16, 8, 4, 2); empty unless training with ``side_outputs``.
    depth_params: (B, 5 or 1, H/2, W/2) fp32 activated canonical inverse-depth parameters
        (layout in ``modot_ros.mixture``); resample with ``mixture.resize_params``.
    """

    boundary_logits: torch.Tensor | None
    boundary_side_logits: list[torch.Tensor]
    depth_params: torch.Tensor | None


class DepthBoundaryNet(nn.Module):
    """Joint depth + occlusion-boundary network built from a ``ModelConfig``."""

    def __init__(self, config: ModelConfig, pretrained: bool | None = None) -> None:
        super().__init__()
        self.config = config
        if pretrained is None:
            pretrained = config.pretrained_encoder and config.encoder in PRETRAINED_ENCODERS
        self.encoder = Encoder(config.encoder, pretrained)
        enc, red, ch = self.encoder.channels, self.encoder.reductions, config.decoder_channels
        self.boundary_decoder = self.boundary_head = self.depth_decoder = self.depth_head = None
        if config.predicts_boundary:
            self.boundary_decoder = BoundaryDecoder(enc, red, ch, config.norm)
            self.boundary_head = BoundaryHead(ch[-1], config.norm)
        if config.predicts_depth:
            casm = None
            if config.variant == "modot":
                casm = dict(kernels=config.strip_kernels, reduction=config.casm_reduction,
                            depthwise=config.strip_conv == "depthwise")
            self.depth_decoder = DepthDecoder(enc, red, ch, casm, config.norm)
            self.depth_head = DepthHead(ch[-1], config.depth_channels, config.min_depth,
                                        config.max_depth, config.depth_param)

    def forward(self, image: torch.Tensor, with_boundary: bool = True) -> NetworkOutput:
        """(B, 3, H, W) RGB in [0, 1], H and W multiples of 16 -> ``NetworkOutput``."""
        features = self.encoder(image)
        boundary = self.boundary_decoder.project(features) if self.boundary_decoder else None
        depth_params = None
        if self.depth_decoder is not None:
            depth_feature, boundary = self.depth_decoder(features, boundary)
            depth_params = self.depth_head(depth_feature)
        if boundary is None or not with_boundary:
            return NetworkOutput(None, [], depth_params)
        feature, sides = self.boundary_decoder(boundary, self.training and self.config.side_outputs)
        logits = upsample_to(self.boundary_head(feature), image)
        return NetworkOutput(logits, [upsample_to(s, image) for s in sides], depth_params)

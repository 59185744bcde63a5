"""Pose network of self-supervised training without odometry: camera motion between two frames.

The standard design of the self-supervised depth literature (mixture_depth.md §5 anchor): an
ImageNet encoder sees the target and a source frame stacked on the channel axis and a small
convolutional head regresses six numbers, axis-angle and translation of ``T_source_from_target``,
scaled by 0.01 so training starts near "no motion". It trains jointly with the depth network
through the photometric loss; its weights live in the resumable training state (``last.pt``),
never in the runtime checkpoint, which the node loads.

Scale: the photometric loss is unchanged when depth and translation are scaled together, so the
metric scale comes from the depth network (its ``--init`` weights) unless /tf odometry or a known
camera height (``camera_height_m``, ``training.losses.camera_height``) fixes it.
"""
from __future__ import annotations

import torch
from torch import nn

from modot_ros.geometry import pose_from_axis_angle_torch
from modot_ros.model.encoder import (PRETRAINED_ENCODERS, EncoderError, map_efficientnet_lite_keys,
                                     pretrained_weights_path)
from modot_ros.model.timm_import import import_timm
from training.config import PoseConfig

# the first motion estimates stay small (centimetres, milliradians) while the depth is untrained
OUTPUT_SCALE = 0.01


class PoseNet(nn.Module):
    """(target, source) RGB in [0, 1], (B, 3, H, W) each -> ``T_source_from_target`` (B, 4, 4)."""

    def __init__(self, config: PoseConfig = PoseConfig()) -> None:
        super().__init__()
        timm = import_timm()
        arch = PRETRAINED_ENCODERS[config.encoder][0] if config.encoder in PRETRAINED_ENCODERS else config.encoder
        try:
            self.encoder = timm.create_model(arch, pretrained=False, features_only=True, in_chans=6,
                                             out_indices=(-1,))
        except RuntimeError as error:  # timm's "Unknown model"
            raise EncoderError(f"unknown timm encoder {config.encoder!r} for the pose network: {error}") from error
        cfg = self.encoder.pretrained_cfg or {}
        mean, std = cfg.get("mean", (0.485, 0.456, 0.406)), cfg.get("std", (0.229, 0.224, 0.225))
        self.register_buffer("mean", torch.tensor(mean * 2).view(1, 6, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std * 2).view(1, 6, 1, 1), persistent=False)
        width = self.encoder.feature_info.channels()[-1]
        self.head = nn.Sequential(nn.Conv2d(width, 128, 1), nn.ReLU(inplace=True),
                                  nn.Conv2d(128, 128, 3, padding=1), nn.ReLU(inplace=True),
                                  nn.Conv2d(128, 6, 1))
        if config.pretrained and config.encoder in PRETRAINED_ENCODERS:
            self._load_imagenet(config.encoder)

    def _load_imagenet(self, name: str) -> None:
        """ImageNet weights; the stem sees two frames, so its RGB filters are repeated and halved.

        Halving keeps the stem's response to two equal frames what it was to one frame.
        """
        state = torch.load(pretrained_weights_path(name), map_location="cpu", weights_only=True)
        mapped = map_efficientnet_lite_keys(state, [len(stage) for stage in self.encoder.blocks])
        stem = mapped["conv_stem.weight"]
        mapped["conv_stem.weight"] = torch.cat([stem, stem], 1) / 2
        own = self.encoder.state_dict()
        # features_only with out_indices keeps the stages up to the last one; the rest must match
        self.encoder.load_state_dict({k: v for k, v in mapped.items() if k in own}, strict=True)

    def forward(self, target: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
        stacked = (torch.cat([target, source], 1) - self.mean) / self.std
        motion = self.head(self.encoder(stacked)[-1]).mean((2, 3)) * OUTPUT_SCALE
        return pose_from_axis_angle_torch(motion[:, :3].float(), motion[:, 3:].float())


def unknown_poses(batch: dict) -> torch.Tensor:
    """(B, S) True where a sample's ``T_source_from_target`` is unknown (NaN: no /tf, no engine)."""
    return torch.isnan(batch["T_source_from_target"]).flatten(2).any(2)


def fill_unknown_poses(batch: dict, pose_net: nn.Module | None) -> dict:
    """The batch with every unknown relative pose predicted by ``pose_net`` (differentiably).

    Known poses (the engine's, a bag's /tf) are kept, so one batch can mix both kinds. The network
    sees every (target, source) pair, so under DDP each rank runs it every step: a rank whose
    samples all know their poses sends zero gradients instead of leaving the others waiting.
    """
    if "T_source_from_target" not in batch:
        return batch
    poses = batch["T_source_from_target"]
    if pose_net is None:
        if unknown_poses(batch).any():
            raise ValueError("a batch has samples without poses but no pose network was built")
        return batch
    n, s = poses.shape[:2]
    targets = batch["rgb"].unsqueeze(1).expand(-1, s, -1, -1, -1).flatten(0, 1)
    predicted = pose_net(targets, batch["sources"].flatten(0, 1)).view(n, s, 4, 4).to(poses.dtype)
    unknown = unknown_poses(batch)[..., None, None]
    return batch | {"T_source_from_target": torch.where(unknown, predicted, poses)}

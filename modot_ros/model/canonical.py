"""Canonical-camera depth: the one place that converts between metric and canonical depth.

The network predicts depth as if the camera had focal length ``canonical_focal`` (px) at the
network input size. An object of a given image size is twice as far with twice the focal
length, so metric depth = canonical depth * fx_net / canonical_focal, where fx_net is the
camera's fx after resizing the image to the network input (``network_focal``). Training targets
go the other way with ``to_canonical_depth``. Works on floats, numpy arrays and torch tensors;
a per-image fx_net of shape (B,) broadcasts over (B, ...) depth.
"""
from __future__ import annotations

from typing import Any


def network_focal(intrinsics: Any, input_width: int, input_height: int) -> float:
    """fx of ``intrinsics`` (modot_ros.geometry.CameraIntrinsics) after resizing to the input."""
    return intrinsics.scaled_to(input_width, input_height).fx


def canonical_scale(fx_net: Any, canonical_focal: float) -> Any:
    """Factor from canonical to metric depth: fx_net / canonical_focal."""
    return fx_net / canonical_focal


def _broadcast(factor: Any, like: Any) -> Any:
    ndim = getattr(like, "ndim", 0)
    if getattr(factor, "ndim", 0) == 1 and ndim > 1:
        return factor.reshape((-1,) + (1,) * (ndim - 1))
    return factor


def from_canonical_depth(depth: Any, fx_net: Any, canonical_focal: float) -> Any:
    """Canonical depth -> metric depth (metres) for a camera with ``fx_net``."""
    return depth * _broadcast(canonical_scale(fx_net, canonical_focal), depth)


def to_canonical_depth(depth: Any, fx_net: Any, canonical_focal: float) -> Any:
    """Metric depth (metres) -> canonical depth the network is trained to predict."""
    return depth / _broadcast(canonical_scale(fx_net, canonical_focal), depth)

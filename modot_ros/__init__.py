"""modot_ros: monocular metric depth + occlusion boundaries for ROS 2 (MoDOT + mixture depth).

Importing the package is cheap (no torch); ``DepthBoundaryEstimator`` loads on first access.
"""
from __future__ import annotations

from typing import Any

__all__ = ["DepthBoundaryEstimator"]


def __getattr__(name: str) -> Any:
    if name == "DepthBoundaryEstimator":
        from modot_ros.inference import DepthBoundaryEstimator

        return DepthBoundaryEstimator
    raise AttributeError(f"module 'modot_ros' has no attribute {name!r}")

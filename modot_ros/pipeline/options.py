"""``OutputOptions``: what the per-frame outputs contain, and the one source of their defaults.

The node's parameters of the same names (``modot_ros.ros.node_config``) take their defaults, help
text and allowed values from these fields, so the node, bag evaluation and tests agree.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from typing import Any

from modot_ros.config import config_field as _f
from modot_ros.config import depth_range_problem
from modot_ros.pipeline.edge_points import EDGE_POINTS

EDGE_MODES = ("mixture", "mean")


@dataclass(frozen=True)
class OutputOptions:
    """What to publish and how; build from the node's config with ``from_config``."""

    min_depth: float = _f(0.1, "Smallest published depth, m; closer becomes NaN.", range=(0.0, 1000.0))
    max_depth: float = _f(20.0, "Largest published depth, m; farther becomes NaN.", range=(0.0, 1000.0))
    occlusion_threshold: float = _f(0.5, "occlusion/mask and edge pixel when boundary probability "
                                    ">= this.", range=(0.0, 1.0))
    ambiguity_threshold: float = _f(0.3, "Edge pixel when mixture ambiguity 1 - max weight >= this.",
                                    range=(0.0, 0.5))
    edge_mode: str = _f("mixture", "Depth read-out: mixture (dominant mode, sharp edges) or mean "
                        "(weighted mean, blurry baseline).", EDGE_MODES)
    edge_points: str = _f("drop", "Cloud points at edge pixels: keep (read-out depth), drop (NaN) or "
                          "snap (depth of the mixture component nearest the neighbourhood median).",
                          EDGE_POINTS)
    snap_window: int = _f(5, "Odd window (px) for the neighbourhood median of edge_points=snap.",
                          range=(3, 31))
    invalid_depth: float = _f(0.0, "Cloud depth (m) for pixels without a valid depth (e.g. to clear "
                              "costmaps); 0 = leave NaN.", range=(0.0, 1000.0))
    min_confidence: float = _f(0.0, "Leave points whose confidence is below this out of the cloud "
                               "(costmaps: e.g. 0.8); 0 = keep every point.", range=(0.0, 1.0))
    veiling_threshold: float = _f(0.0, "Post-filter: also leave out points whose 3x3 neighbourhood spans a "
                                  "depth ratio above 1 + this (veiling filter, e.g. 0.1); 0 = off.",
                                  range=(0.0, 10.0))
    output_scale: float = _f(1.0, "Output size / input size; depth/camera_info is scaled exactly.",
                             range=(0.05, 4.0), read_only=True)
    organized: bool = _f(True, "Organized H x W cloud with NaN points; false = finite points only.")
    cloud_decimation: int = _f(1, "Keep every Nth pixel in u and v in the cloud.", range=(1, 16))
    colorize: bool = _f(True, "Add the rgb field to the cloud.")
    cloud_confidence: bool = _f(True, "Add the confidence field to the cloud.")
    publish_points: bool = _f(True, "Publish the points cloud.")
    publish_depth_mm: bool = _f(False, "Also publish depth/image_raw (16UC1 mm, 0 invalid).")
    publish_mixture: bool = _f(False, "Also publish depth_mixture (modot_ros_msgs/DepthMixture).")

    def __post_init__(self) -> None:
        if self.edge_mode not in EDGE_MODES:
            raise ValueError(f"edge_mode={self.edge_mode!r}; allowed: {', '.join(EDGE_MODES)}")
        if self.edge_points not in EDGE_POINTS:
            raise ValueError(f"edge_points={self.edge_points!r}; allowed: {', '.join(EDGE_POINTS)}")
        if problem := depth_range_problem(self.min_depth, self.max_depth):
            raise ValueError(problem)
        if self.output_scale <= 0 or self.cloud_decimation < 1:
            raise ValueError(f"output_scale must be > 0 and cloud_decimation >= 1, got "
                             f"{self.output_scale}, {self.cloud_decimation}")

    @classmethod
    def from_config(cls, config: Any) -> "OutputOptions":
        """Take every option from the same-named attribute of ``config`` (a NodeConfig)."""
        return cls(**{f.name: getattr(config, f.name) for f in fields(cls)})

    def output_size(self, width: int, height: int) -> tuple[int, int]:
        """(width, height) of the outputs for an input of ``width`` x ``height``."""
        return max(1, round(width * self.output_scale)), max(1, round(height * self.output_scale))


OUTPUT_FIELDS = {f.name: f for f in fields(OutputOptions)}


def output_field(name: str) -> Any:
    """A copy of ``OutputOptions``' field ``name`` (default and metadata) for another config class."""
    source = OUTPUT_FIELDS[name]
    return dataclasses.field(default=source.default, metadata=source.metadata)

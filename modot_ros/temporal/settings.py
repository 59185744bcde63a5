"""``TemporalSettings``: the options of the temporal depth filter, in one place (no torch).

The node's parameters of the same names (``modot_ros.ros.node_config``) copy their defaults, help
and ranges from these fields (``temporal_field``); bag evaluation and the measurement script build
them from flags. docs/node.md (Temporal filter) says when to use which mode.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from modot_ros.config import config_field as _f, copied_field, fields_from

TEMPORAL_FILTERS = ("off", "static", "odometry")


@dataclass(frozen=True)
class TemporalSettings:
    """How successive depth frames are fused (README: Temporal filter)."""

    temporal_filter: str = _f("off", "Fuse depth over frames: off (each frame alone), static (per pixel, for a "
                              "camera that does not move) or odometry (the previous fused depth warped by the "
                              "camera motion from tf, then fused; a moving robot with odometry). Both keep the "
                              "previous estimate only where the new one agrees within their uncertainties, "
                              "never across an occlusion boundary.", TEMPORAL_FILTERS, read_only=True)
    temporal_gate: float = _f(4.0, "Fuse a pixel when new and previous log depth differ by at most this many "
                              "standard deviations (the mixture's, scaled to how much the frames really differ); "
                              "beyond it the new depth is taken (motion, a new object).", range=(0.5, 20.0))
    temporal_process_noise: float = _f(0.01, "Log-depth std added to the fused state every frame: larger follows "
                                       "change faster, smaller smooths more.", range=(0.0, 1.0))
    temporal_boundary: float = _f(0.9, "Pixels whose occlusion-boundary probability (new or previous) is at least "
                                  "this are never fused: the new depth is taken.", range=(0.0, 1.0))
    temporal_max_translation: float = _f(0.5, "odometry: camera motion between frames above this (m) resets the "
                                         "filter.", range=(0.0, 100.0))
    temporal_max_rotation: float = _f(20.0, "odometry: camera rotation between frames above this (degrees) resets "
                                      "the filter.", range=(0.0, 180.0))
    temporal_fixed_frame: str = _f("odom", "odometry: the frame the camera's motion is measured in; odom (REP 105: "
                                   "continuous, no jumps) suits frame-to-frame motion.", read_only=True)

    def __post_init__(self) -> None:
        if self.temporal_filter not in TEMPORAL_FILTERS:
            raise ValueError(f"temporal_filter={self.temporal_filter!r}; allowed: {', '.join(TEMPORAL_FILTERS)}")

    @property
    def active(self) -> bool:
        return self.temporal_filter != "off"

    @classmethod
    def from_config(cls, config: Any) -> "TemporalSettings":
        return fields_from(cls, config)


TEMPORAL_FIELDS = {f.name: f for f in fields(TemporalSettings)}


def temporal_field(name: str) -> Any:
    """A copy of ``TemporalSettings``' field ``name`` for another config class (the node's)."""
    return copied_field(TemporalSettings, name)

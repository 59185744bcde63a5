"""Evaluation metrics shared by training evaluation and rosbag evaluation (numpy only).

* depth: ``depth_metrics``, ``abs_rel_by_distance``, ``DepthAccumulator`` (modot.md §4.1)
* occlusion boundaries: ``BoundaryEvaluator`` ODS / OIS / AP, ``boundary_nms`` (modot.md §4.2)
* boundary sharpness: ``depth_boundary_error``, ``depth_edges`` (modot.md §4.3)
* point clouds: ``flying_pixel_rate``, ``chamfer_fscore`` (mixture_depth.md §4.3, §8.C)
"""
from modot_ros.evaluation.boundary_bsds import BoundaryEvaluator, boundary_nms, match_counts
from modot_ros.evaluation.cloud_metrics import chamfer_fscore, depth_discontinuities, flying_pixel_rate
from modot_ros.evaluation.depth_errors import (DEPTH_METRIC_NAMES, DepthAccumulator, abs_rel_by_distance,
                                     depth_metrics)
from modot_ros.evaluation.sharpness import depth_boundary_error, depth_edges
from modot_ros.evaluation.thinning import thin

__all__ = ["BoundaryEvaluator", "boundary_nms", "match_counts", "chamfer_fscore",
           "depth_discontinuities", "flying_pixel_rate", "DEPTH_METRIC_NAMES", "DepthAccumulator",
           "abs_rel_by_distance", "depth_metrics", "depth_boundary_error", "depth_edges", "thin"]

"""Evaluation: metrics, the one per-frame scorer, reports, figures, bag and replay evaluation.

Metrics (numpy only, shared by training evaluation, validation and rosbag evaluation):
* ``depth_errors``: ``depth_metrics``, ``abs_rel_by_distance``, ``DepthAccumulator`` (modot.md §4.1)
* ``boundary_bsds``: OB ``BoundaryEvaluator`` ODS / OIS / AP, ``boundary_nms`` (modot.md §4.2);
  ``thinning``: the Guo-Hall thinning it uses
* ``sharpness``: iBims ``depth_boundary_error``, ``depth_edges`` (modot.md §4.3)
* ``boundary_f1``: Depth Pro's scale-invariant boundary F1
* ``cloud_metrics``: ``flying_pixel_rate``, ``chamfer_fscore`` (mixture_depth.md §4.3, §8.C)
* ``mixture_health``: component dominance and edge bimodality of the depth mixture

``scorer.FrameScorer`` applies them frame by frame (training evaluation and the bag report);
``bag_report`` (report of a bag), ``report_markdown``, ``frame_panels`` and ``plots`` (pictures)
write the outputs; ``bag_evaluation`` (offline) and ``replay_evaluation`` (live replay) drive it.
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

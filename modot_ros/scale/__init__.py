"""Metric, steady scale for the predicted depth from what the robot knows (no rclpy here).

A script on one prediction::

    from modot_ros.scale import fit_camera_height
    fit = fit_camera_height(pred.depth, pred.intrinsics, height_m=0.42, boundary=pred.boundary,
                            confidence=pred.confidence)
    metric = fit.apply(pred.depth) if fit.trusted else pred.depth

Modules: ``fit`` (the per-frame fits), ``samples`` (LaserScan / Range / ground truth to pixels),
``measurements`` (a LaserScan / Range / depth message, rclpy's or a bag's, to a measurement),
``tracker`` (smoothing over frames, fallback, applying a scale to a ``Prediction``),
``ground_plane`` (the plane fit training's camera-height loss uses too), ``engine`` (all of it per
frame, as the node, bag evaluation and training evaluation run it) and ``settings`` (its options;
torch-free, so the node's parameter table imports it cheaply: hence the lazy names below).
"""
from importlib import import_module

_HOMES = {
    "fit": ("FitOptions", "ScaleFit", "fit_camera_height", "fit_pairs", "fit_points", "fit_range_beam",
            "fit_sparse_depth", "reliable_mask", "up_from_pitch"),
    "samples": ("RangeBeam", "extrinsic_from_text", "ground_truth_samples", "laser_scan_from_depth",
                "laser_scan_samples", "offset_from_text", "range_beam"),
    "measurements": ("measurement_from_message",),
    "tracker": ("ScaleState", "ScaleTracker", "scaled_prediction"),
    "engine": ("ScaleEngine", "ground_truth_measurement"),
    "settings": ("SCALE_SOURCES", "LaserScanData", "RangeData", "ScaleSettings"),
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'modot_ros.scale' has no attribute {name!r}")
    return getattr(import_module(f"modot_ros.scale.{_MODULE_OF[name]}"), name)

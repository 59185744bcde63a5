"""One frame of node output, without rclpy: prediction -> arrays -> messages (topic -> message).

Used by the ROS node and by offline bag evaluation, so an output bag holds exactly what the node
publishes. Two steps:

* ``compute_frame_arrays(prediction, rgb, options)``: read-out choice (``edge_mode``), range
  check, occlusion mask, edge-aware cloud depth (``modot_ros.pipeline.edge_points``), back-projection and
  cloud packing.
* ``frame_messages(arrays, header, camera_info_in, types, options)``: messages of the classes in
  ``types`` (rclpy classes in the node, rosbags typestore classes offline), keyed by the node's
  relative topic names (``modot_ros.pipeline.topics.TOPICS``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Collection

import cv2
import numpy as np

from modot_ros.depth_units import invalidate_out_of_range, metres_to_millimetres
from modot_ros.pipeline.cloud_filters import veiling_filter
from modot_ros.pipeline.edge_points import cloud_depth, edge_mask
from modot_ros.geometry import CameraIntrinsics, backproject
from modot_ros.pipeline.messages import array_to_image, message_with_data, scale_camera_info
from modot_ros.pipeline.options import OutputOptions
from modot_ros.pipeline.pointcloud import CloudBuffer, cloud_to_msg, pack_pointcloud

SPACE_INVERSE_DEPTH = 0  # modot_ros_msgs/DepthMixture.SPACE_INVERSE_DEPTH


@dataclass
class FrameArrays:
    """Per-pixel outputs at the output size; images float32 (H, W) unless noted."""

    depth: np.ndarray                # metres, NaN invalid (read-out per edge_mode, range-checked)
    depth_mm: np.ndarray | None      # uint16 mm, 0 invalid (publish_depth_mm)
    boundary: np.ndarray | None      # OB probability [0, 1] (None: model has no OB head)
    mask: np.ndarray | None          # uint8 0/255, boundary >= occlusion_threshold
    confidence: np.ndarray           # [0, 1]
    edges: np.ndarray                # bool, the edge pixels edge_points acted on
    cloud: CloudBuffer | None        # publish_points
    params: np.ndarray | None        # (5, H, W) metric inverse-depth mixture (publish_mixture)
    intrinsics: CameraIntrinsics     # of the output grid
    timings_ms: dict[str, float] = field(default_factory=dict)  # edges, cloud


def _resize_rgb(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    if rgb.shape[:2] == (height, width):
        return rgb
    shrink = width < rgb.shape[1]
    return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def points_depth(depth: np.ndarray, edges: np.ndarray, prediction: Any, options: OutputOptions) -> np.ndarray:
    """The depth the cloud back-projects (NaN = no point): edge policy, range, veiling, confidence, fill.

    ``depth`` is the range-checked read-out. Low-confidence points are left out before the
    ``invalid_depth`` fill, so that fill (meant to clear costmaps where nothing was seen) never
    lands where the network did see something, only unsure of it.
    """
    readout_valid = np.isfinite(depth)
    z = cloud_depth(depth, edges, options.edge_points, prediction.params, options.snap_window)
    z = invalidate_out_of_range(z, options.min_depth, options.max_depth)
    if options.veiling_threshold > 0:
        z = veiling_filter(z, options.veiling_threshold)
    if options.min_confidence > 0 and prediction.confidence is not None:
        z[prediction.confidence < options.min_confidence] = np.nan
    if options.invalid_depth > 0:  # depth_image_proc's fill for clearing; not for dropped edges
        z[~readout_valid] = options.invalid_depth
    return z


def _cloud(depth: np.ndarray, edges: np.ndarray, prediction: Any, rgb: np.ndarray,
           options: OutputOptions) -> CloudBuffer:
    z = points_depth(depth, edges, prediction, options)
    intr = prediction.intrinsics
    return pack_pointcloud(
        backproject(z, intr),
        rgb=_resize_rgb(rgb, intr.width, intr.height) if options.colorize else None,
        boundary=prediction.boundary,
        confidence=prediction.confidence if options.cloud_confidence else None,
        organized=options.organized,
        decimation=options.cloud_decimation,
    )


def compute_frame_arrays(prediction: Any, rgb: np.ndarray, options: OutputOptions) -> FrameArrays:
    """Arrays of every output from a ``modot_ros.inference.Prediction`` and the input RGB image.

    The arrays are at the output size; the input RGB image is resized here for cloud colours when
    the sizes differ.
    """
    if prediction.depth is None:
        raise ValueError("the model predicts no depth (variant 'boundary'); the node needs depth")
    start = time.perf_counter()
    readout = prediction.depth_mean if options.edge_mode == "mean" and prediction.depth_mean is not None \
        else prediction.depth
    depth = invalidate_out_of_range(readout, options.min_depth, options.max_depth)
    valid = np.isfinite(depth)
    boundary = prediction.boundary
    mask = None if boundary is None else np.where(boundary >= options.occlusion_threshold, 255, 0).astype(np.uint8)
    edges = edge_mask(prediction.ambiguity, boundary, options.ambiguity_threshold, options.occlusion_threshold)
    confidence = prediction.confidence if prediction.confidence is not None else valid.astype(np.float32)
    edges_ms = (time.perf_counter() - start) * 1e3
    start = time.perf_counter()
    cloud = _cloud(depth, edges, prediction, rgb, options) if options.publish_points else None
    return FrameArrays(
        depth=depth,
        depth_mm=metres_to_millimetres(depth) if options.publish_depth_mm else None,
        boundary=boundary,
        mask=mask,
        confidence=confidence,
        edges=edges,
        cloud=cloud,
        params=prediction.params if options.publish_mixture and prediction.params is not None
        and prediction.params.shape[0] == 5 else None,
        intrinsics=prediction.intrinsics,
        timings_ms={"edges": edges_ms, "cloud": (time.perf_counter() - start) * 1e3},
    )


@dataclass(frozen=True)
class MessageTypes:
    """The message classes ``frame_messages`` builds (rclpy or rosbags flavour)."""

    Image: type
    CameraInfo: type
    PointCloud2: type
    PointField: type
    DepthBoundary: type
    DepthMixture: type


def _channels_image(planes: np.ndarray, header: Any, image_type: type) -> Any:
    """(K, H, W) float32 -> one 32FC<K> Image (interleaved channels)."""
    count, height, width = planes.shape
    pixels = np.ascontiguousarray(np.moveaxis(planes.astype("<f4"), 0, -1))
    return message_with_data(image_type, pixels.reshape(-1).view(np.uint8), header=header, height=height,
                             width=width, encoding=f"32FC{count}", is_bigendian=0, step=width * count * 4)


def _mixture_message(params: np.ndarray, header: Any, info: Any, types: MessageTypes) -> Any:
    weights = np.stack([params[4], 1.0 - params[4]])
    return types.DepthMixture(
        header=header, depth_space=SPACE_INVERSE_DEPTH, num_components=2,
        means=_channels_image(params[0:2], header, types.Image),
        stddevs=_channels_image(params[2:4], header, types.Image),
        weights=_channels_image(weights, header, types.Image),
        camera_info=info,
    )


def frame_messages(arrays: FrameArrays, header: Any, camera_info_in: Any, types: MessageTypes,
                   options: OutputOptions, wanted: Collection[str] | None = None) -> dict[str, Any]:
    """Relative topic name -> message for one frame; every message carries ``header``.

    ``camera_info_in`` is the input image's CameraInfo; ``depth/camera_info`` is it scaled exactly
    to the output size (``modot_ros.pipeline.messages.scale_camera_info``). ``wanted``: build only
    these topics' messages (the node under ``lazy``: the subscribed ones; a 640x480 cloud message
    alone copies 6 MB); None builds every one the options enable.
    """
    want = (lambda topic: True) if wanted is None else wanted.__contains__
    height, width = arrays.depth.shape
    info = scale_camera_info(camera_info_in, width, height, types.CameraInfo)
    info.header = header
    image = lambda pixels, encoding: array_to_image(pixels, encoding, header, types.Image)  # noqa: E731
    combined = want("depth_boundary")  # carries the depth, boundary and confidence images
    out: dict[str, Any] = {}
    depth = image(arrays.depth, "32FC1") if combined or want("depth/image") else None
    confidence = image(arrays.confidence, "32FC1") if combined or want("depth/confidence") else None
    boundary = None
    if combined or (arrays.boundary is not None and want("occlusion/boundary")):
        boundary = image(arrays.boundary if arrays.boundary is not None
                         else np.zeros((height, width), np.float32), "32FC1")
    for topic, message in (("depth/image", depth), ("depth/camera_info", info), ("depth/confidence", confidence)):
        if want(topic):
            out[topic] = message
    if arrays.depth_mm is not None and want("depth/image_raw"):
        out["depth/image_raw"] = image(arrays.depth_mm, "16UC1")
    if arrays.boundary is not None:
        if want("occlusion/boundary"):
            out["occlusion/boundary"] = boundary
        if want("occlusion/mask"):
            out["occlusion/mask"] = image(arrays.mask, "mono8")
    if arrays.cloud is not None and want("points"):
        out["points"] = cloud_to_msg(arrays.cloud, header, types.PointCloud2, types.PointField)
    if combined:
        out["depth_boundary"] = types.DepthBoundary(header=header, depth=depth, boundary=boundary,
                                                    confidence=confidence, camera_info=info)
    if arrays.params is not None and want("depth_mixture"):
        out["depth_mixture"] = _mixture_message(arrays.params, header, info, types)
    return out

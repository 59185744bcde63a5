"""Bags with ground truth, as ``modot-eval-bag`` and the live replay read them (no ROS needed).

Per frame: the colour image, its CameraInfo, ground-truth depth (32FC1 m with NaN invalid, or
16UC1 mm with 0 invalid) and the ground-truth occlusion boundary (mono8 0/255), all with one
header, and where the writer knows it the camera's pose on /tf (``odom`` -> the image's frame: what
a robot's odometry gives, read by the temporal filter and the flicker measure). Used by the demo's
synthetic bag, the bag tests and the bag benchmark. As robots record them, the colour image can be
a jpeg/png CompressedImage on ``<image>/compressed`` and the depth a compressedDepth png on
``<depth>/compressedDepth`` (``modot_ros.pipeline.compressed``). ``write_scan`` adds what a robot's
2D lidar in the camera's horizontal plane would have returned (``/scan`` in ``LASER_FRAME``, placed
by ``write_laser_pose`` on /tf_static), for the supervision ``modot-adapt`` reads from a LaserScan.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from modot_ros.bags.io import BagWriter
from modot_ros.depth_units import metres_to_millimetres
from modot_ros.geometry import CameraIntrinsics
from modot_ros.pipeline.compressed import COMPRESSED_IMAGE, array_to_compressed, depth_to_compressed_depth
from modot_ros.pipeline.messages import array_to_image, intrinsics_to_camera_info

FRAME_ID = "camera_optical_frame"
ODOM_FRAME = "odom"  # the fixed frame of the camera poses written to /tf (REP 105)
LASER_FRAME, SCAN_TOPIC = "laser", "/scan"
SCAN_INCREMENT = math.radians(0.5)  # a typical 2D lidar's angular step
GT_TOPICS = {"image": "/camera/image_raw", "info": "/camera/camera_info",
             "depth": "/camera/depth/ground_truth", "boundary": "/camera/occlusion/ground_truth"}


class GroundTruthBagWriter(BagWriter):
    """A ``BagWriter`` that stores one frame (image, info, GT depth, GT boundary) per call."""

    def __init__(self, path: str | Path, storage: str = "mcap", typestore=None, frame_id: str = FRAME_ID,
                 gt_delay_ns: int = 0) -> None:
        """gt_delay_ns: bag time of GT depth (boundary: twice that) after the image, as recorders see it."""
        super().__init__(path, storage, typestore)
        self.frame_id, self.gt_delay_ns = frame_id, gt_delay_ns

    def header(self, stamp_ns: int) -> Any:
        t = self.typestore.types
        return t["std_msgs/msg/Header"](stamp=t["builtin_interfaces/msg/Time"](
            sec=stamp_ns // 1_000_000_000, nanosec=stamp_ns % 1_000_000_000), frame_id=self.frame_id)

    def image(self, pixels: np.ndarray, encoding: str, header: Any) -> Any:
        return array_to_image(pixels, encoding, header, self.typestore.types["sensor_msgs/msg/Image"])

    def write_frame(self, stamp_ns: int, image: np.ndarray, intrinsics: CameraIntrinsics | None,
                    depth: np.ndarray | None = None, boundary: np.ndarray | None = None, *,
                    image_encoding: str = "rgb8", depth_encoding: str = "32FC1",
                    log_ns: int | None = None, image_codec: str = "", compressed_depth: bool = False,
                    pose: np.ndarray | None = None) -> Any:
        """Write one frame stamped ``stamp_ns`` at bag time ``log_ns`` (default the stamp); returns its header.

        image: pixels laid out as ``image_encoding``; depth in metres; boundary uint8 0/255. A None
        part (intrinsics, depth, boundary) is left out. image_codec jpeg|png: the image goes to
        ``<image>/compressed``; compressed_depth: the depth to ``<depth>/compressedDepth``. pose: the
        camera's ``T_odom_camera`` (4x4), written to /tf.
        """
        t = self.typestore.types
        header, log_ns = self.header(stamp_ns), stamp_ns if log_ns is None else log_ns
        if image_codec:
            self.write(GT_TOPICS["image"] + "/compressed", array_to_compressed(
                image, image_encoding, image_codec, header, t[COMPRESSED_IMAGE]), log_ns)
        else:
            self.write(GT_TOPICS["image"], self.image(image, image_encoding, header), log_ns)
        if intrinsics is not None:
            self.write(GT_TOPICS["info"], intrinsics_to_camera_info(
                intrinsics, header, t["sensor_msgs/msg/CameraInfo"], t["sensor_msgs/msg/RegionOfInterest"]), log_ns)
        if depth is not None and compressed_depth:
            self.write(GT_TOPICS["depth"] + "/compressedDepth", depth_to_compressed_depth(
                depth, depth_encoding, header, t[COMPRESSED_IMAGE]), log_ns + self.gt_delay_ns)
        elif depth is not None:
            pixels = metres_to_millimetres(depth) if depth_encoding == "16UC1" else depth.astype(np.float32)
            self.write(GT_TOPICS["depth"], self.image(pixels, depth_encoding, header), log_ns + self.gt_delay_ns)
        if boundary is not None:
            self.write(GT_TOPICS["boundary"], self.image(boundary, "mono8", header), log_ns + 2 * self.gt_delay_ns)
        if pose is not None:
            self.write("/tf", self.transform(pose, stamp_ns), log_ns)
        return header

    def transform(self, T_parent_child: np.ndarray, stamp_ns: int, parent: str = ODOM_FRAME,
                  child: str | None = None) -> Any:
        """A TFMessage with ``child``'s pose (default the camera's) in ``parent`` (default ``ODOM_FRAME``)."""
        from scipy.spatial.transform import Rotation

        t = self.typestore.types
        header = self.header(stamp_ns)
        header.frame_id = parent
        x, y, z, w = Rotation.from_matrix(np.asarray(T_parent_child)[:3, :3]).as_quat()
        p = np.asarray(T_parent_child, np.float64)[:3, 3]
        stamped = t["geometry_msgs/msg/TransformStamped"](
            header=header, child_frame_id=child or self.frame_id, transform=t["geometry_msgs/msg/Transform"](
                translation=t["geometry_msgs/msg/Vector3"](x=p[0], y=p[1], z=p[2]),
                rotation=t["geometry_msgs/msg/Quaternion"](x=x, y=y, z=z, w=w)))
        return t["tf2_msgs/msg/TFMessage"](transforms=[stamped])

    def write_laser_pose(self, stamp_ns: int) -> None:
        """/tf_static: ``LASER_FRAME`` at the optical centre with the camera's body axes (x ahead, z up)."""
        from modot_ros.scale.samples import OPTICAL_FROM_BODY

        T_optical_laser = np.eye(4)
        T_optical_laser[:3, :3] = OPTICAL_FROM_BODY
        self.write("/tf_static", self.transform(T_optical_laser, stamp_ns, self.frame_id, LASER_FRAME), stamp_ns)

    def write_scan(self, stamp_ns: int, depth: np.ndarray, intrinsics: CameraIntrinsics, noise: float = 0.02,
                   rng: np.random.Generator | None = None, log_ns: int | None = None) -> Any:
        """/scan: the ranges the lidar of ``write_laser_pose`` reads off GT ``depth`` (m), with relative noise."""
        from modot_ros.scale.samples import laser_scan_from_depth

        angle_min, ranges = laser_scan_from_depth(depth, intrinsics, SCAN_INCREMENT, noise, rng)
        header = self.header(stamp_ns)
        header.frame_id = LASER_FRAME
        message = self.typestore.types["sensor_msgs/msg/LaserScan"](
            header=header, angle_min=angle_min, angle_max=angle_min + SCAN_INCREMENT * (ranges.size - 1),
            angle_increment=SCAN_INCREMENT, time_increment=0.0, scan_time=0.1, range_min=0.05, range_max=40.0,
            ranges=ranges, intensities=np.zeros(0, np.float32))
        self.write(SCAN_TOPIC, message, stamp_ns if log_ns is None else log_ns)
        return message

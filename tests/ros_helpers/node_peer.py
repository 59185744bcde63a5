"""Scripted rclpy peer for the node tests.

It plays camera frames (good and bad) into a running ``modot_node``, records what comes out, and
writes a JSON summary (the checks are in the tests).

Scenarios: topics (topics, headers, QoS, scaling, bundle, lazy idling, parameters), bad_inputs,
overload, lifecycle.
"""
from __future__ import annotations

import hashlib
import time

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from lifecycle_msgs.srv import ChangeState, GetState
from modot_ros_msgs.msg import DepthBoundary, DepthMixture
from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
from rcl_interfaces.srv import SetParameters
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, PointCloud2, RegionOfInterest
from std_msgs.msg import Header

from modot_ros.geometry import CameraIntrinsics
from modot_ros.pipeline.compressed import array_to_compressed
from modot_ros.pipeline.messages import array_to_image, intrinsics_to_camera_info
from modot_ros.pipeline.topics import TOPICS
from modot_ros.ros.message_types import rclpy_message_types

W, H = 128, 96
INTR = CameraIntrinsics(110.0, 110.0, 63.5, 47.5, W, H)
RELIABLE = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
OUTPUTS = {topic: getattr(rclpy_message_types(), name.rsplit("/", 1)[1]) for topic, name in TOPICS.items()}


def digest(data) -> str:
    return hashlib.sha1(bytes(data)).hexdigest()[:12]


class Peer:
    def __init__(self, ns: str, image_topic: str, info_topic: str, node_name: str) -> None:
        self.node = rclpy.create_node("modot_test_peer")
        self.ns, self.node_name = ns.rstrip("/"), node_name
        self.images = self.node.create_publisher(Image, image_topic, RELIABLE)
        self.infos = self.node.create_publisher(CameraInfo, info_topic, RELIABLE)
        self.seen: dict[str, list[dict]] = {}
        self.subs = {}
        self.diagnostics: dict[str, str] = {}
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diag, 10)

    def _on_diag(self, msg) -> None:
        for status in msg.status:
            if status.name.startswith(self.node_name):
                self.diagnostics = {kv.key: kv.value for kv in status.values}

    def subscribe(self, topics) -> None:
        for topic in topics:
            self.seen.setdefault(topic, [])
            self.subs[topic] = self.node.create_subscription(
                OUTPUTS[topic], f"{self.ns}/{topic}", lambda m, t=topic: self._record(t, m), RELIABLE)

    def _record(self, topic: str, msg) -> None:
        stamp = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
        entry = {"stamp": stamp, "frame_id": msg.header.frame_id, "latency": time.time() - stamp / 1e9}
        if isinstance(msg, Image):
            entry |= {"encoding": msg.encoding, "width": msg.width, "height": msg.height, "step": msg.step,
                      "digest": digest(msg.data)}
        elif isinstance(msg, CameraInfo):
            entry |= {"width": msg.width, "height": msg.height, "k": list(msg.k), "p": list(msg.p)}
        elif isinstance(msg, PointCloud2):
            entry |= {"width": msg.width, "height": msg.height, "fields": [f.name for f in msg.fields]}
        elif isinstance(msg, DepthBoundary):
            entry |= {"depth": digest(msg.depth.data), "boundary": digest(msg.boundary.data),
                      "confidence": digest(msg.confidence.data), "info_k": list(msg.camera_info.k),
                      "parts_stamps": [p.header.stamp.sec * 10**9 + p.header.stamp.nanosec
                                       for p in (msg.depth, msg.boundary, msg.confidence, msg.camera_info)]}
        elif isinstance(msg, DepthMixture):
            entry |= {"encoding": msg.means.encoding, "k": int(msg.num_components)}
        self.seen[topic].append(entry)

    def spin(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            rclpy.spin_once(self.node, timeout_sec=0.02)

    def wait(self, condition, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while not condition() and time.monotonic() < end:
            rclpy.spin_once(self.node, timeout_sec=0.05)
        return bool(condition())

    def frame(self, stamp: int, **bad) -> None:
        """Publish camera_info then image with ``stamp`` (ns); ``bad`` breaks one thing."""
        header = Header(frame_id="cam_optical_frame")
        header.stamp.sec, header.stamp.nanosec = divmod(stamp, 10**9)
        rgb = np.random.default_rng(stamp % 1000).integers(0, 256, (H, W, 3), dtype=np.uint8)
        image = array_to_image(rgb, "rgb8", header, Image)
        info = intrinsics_to_camera_info(INTR, header, CameraInfo, RegionOfInterest)
        kind = bad.get("kind")
        if kind == "encoding":
            image.encoding = "yuv422"
        elif kind == "info_size":
            info.width, info.height = 64, 48
        elif kind == "zero_size":
            image.width = image.height = image.step = 0
            image.data = []
        elif kind in ("nan_intrinsics", "zero_intrinsics"):
            value = float("nan") if kind == "nan_intrinsics" else 0.0
            info.k = [value] * 9
            info.p = [0.0] * 12
        elif kind == "nan_k":  # P valid: the node must not republish a NaN K
            info.k = [float("nan")] + list(info.k)[1:]
        elif kind == "empty_frame_id":
            image.header.frame_id = info.header.frame_id = ""
        elif kind == "huge":
            big = np.zeros((200, 200, 3), np.uint8)
            image = array_to_image(big, "rgb8", header, Image)
        elif kind == "wrong_step":
            image.step = W * 3 - 1
        elif kind == "short_data":
            image.data = image.data[: len(image.data) // 2]
        if kind != "missing_info":
            self.infos.publish(info)
        self.images.publish(image)

    def sized_frame(self, stamp: int, width: int, height: int) -> None:
        """Publish camera_info then an rgb8 image of ``width`` x ``height`` stamped ``stamp`` (ns)."""
        header = Header(frame_id="cam_optical_frame")
        header.stamp.sec, header.stamp.nanosec = divmod(stamp, 10**9)
        rgb = np.random.default_rng(stamp % 1000).integers(0, 256, (height, width, 3), dtype=np.uint8)
        intrinsics = CameraIntrinsics(0.9 * width, 0.9 * width, (width - 1) / 2, (height - 1) / 2, width, height)
        self.infos.publish(intrinsics_to_camera_info(intrinsics, header, CameraInfo, RegionOfInterest))
        self.images.publish(array_to_image(rgb, "rgb8", header, Image))

    def compressed_frame(self, publisher, stamp: int, codec: str, cut: bool = False) -> None:
        """Publish camera_info then a jpeg/png CompressedImage stamped ``stamp`` (ns); cut: its first half only."""
        header = Header(frame_id="cam_optical_frame")
        header.stamp.sec, header.stamp.nanosec = divmod(stamp, 10**9)
        rgb = np.random.default_rng(stamp % 1000).integers(0, 256, (H, W, 3), dtype=np.uint8)
        image = array_to_compressed(rgb, "rgb8", codec, header, CompressedImage)
        if cut:  # a frame that lost its tail on the way
            image.data = image.data[: len(image.data) // 2]
        self.infos.publish(intrinsics_to_camera_info(INTR, header, CameraInfo, RegionOfInterest))
        publisher.publish(image)

    def set_parameter(self, name: str, value, timeout: float = 10.0) -> dict:
        client = self.node.create_client(SetParameters, f"{self.ns}/{self.node_name}/set_parameters")
        client.wait_for_service(timeout_sec=60)
        kind = {str: ParameterType.PARAMETER_STRING, float: ParameterType.PARAMETER_DOUBLE,
                bool: ParameterType.PARAMETER_BOOL, int: ParameterType.PARAMETER_INTEGER}[type(value)]
        field = {str: "string_value", float: "double_value", bool: "bool_value", int: "integer_value"}[type(value)]
        pv = ParameterValue(type=kind, **{field: value})
        future = client.call_async(SetParameters.Request(parameters=[Parameter(name=name, value=pv)]))
        rclpy.spin_until_future_complete(self.node, future, timeout_sec=timeout)
        result = future.result().results[0]
        return {"successful": result.successful, "reason": result.reason}

    def lifecycle(self, transition: int | None) -> str:
        """Trigger ``transition`` (None: only read) and return the state label afterwards."""
        base = f"{self.ns}/{self.node_name}"
        if transition is not None:
            client = self.node.create_client(ChangeState, f"{base}/change_state")
            client.wait_for_service(timeout_sec=60)
            request = ChangeState.Request()
            request.transition.id = transition
            future = client.call_async(request)
            rclpy.spin_until_future_complete(self.node, future, timeout_sec=60)
        client = self.node.create_client(GetState, f"{base}/get_state")
        client.wait_for_service(timeout_sec=60)
        future = client.call_async(GetState.Request())
        rclpy.spin_until_future_complete(self.node, future, timeout_sec=10)
        return future.result().current_state.label

    def wait_node(self, timeout: float = 60) -> bool:
        return self.wait(lambda: self.images.get_subscription_count() > 0
                         and self.infos.get_subscription_count() > 0, timeout)

    def received(self, topic: str) -> set[int]:
        return {e["stamp"] for e in self.seen.get(topic, [])}

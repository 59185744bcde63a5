"""The lidar's pose for ``scale_source`` laser_scan: tf2 where importable, else ``laser_extrinsic``.

tf2_ros is not on PyPI, so here the node's tf2 path runs against a stand-in module with tf2_ros's
API (``Buffer.lookup_transform(target, source, time)``, ``TransformListener(buffer, node)``,
``TransformException``); the fallback runs with tf2_ros not importable, as on this machine.
"""
from __future__ import annotations

import sys
import types

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from sensor_msgs.msg import LaserScan

from modot_ros.inference import Prediction
from modot_ros.ros.node_config import NodeConfig
from modot_ros.ros.scale_input import ScaleInput
from modot_ros.scale.samples import OPTICAL_FROM_BODY
from tests.test_scale import INTR

STAMP = 5_000_000_000
BELOW_M = 0.2  # the lidar sits this far below the optical centre (tf's translation, optical +y)


class FakeNode:
    """What ``ScaleInput`` uses of the ``ModotNode``: config, stats, logging, subscriptions."""

    def __init__(self) -> None:
        self.config = NodeConfig(scale_source="laser_scan")
        self.stats = types.SimpleNamespace(scale={})
        self.lines: list[tuple[str, str]] = []
        self._warned: set[str] = set()

    def get_logger(self):
        return types.SimpleNamespace(info=lambda text: self.lines.append(("info", text)),
                                     warning=lambda text: self.lines.append(("warning", text)))

    def warn_first(self, key: str, text: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            self.lines.append(("warning", text))

    def warn_once(self, key: str, text: str) -> None:
        self.lines.append(("warning", text))

    def resolve_topic_name(self, name: str) -> str:
        return "/" + name

    def create_subscription(self, *args):
        return object()


def fake_tf2_ros(known: bool) -> types.ModuleType:
    """tf2_ros's surface; the buffer knows laser -> cam_optical (lidar 20 cm below) when ``known``."""
    module = types.ModuleType("tf2_ros")

    class TransformException(Exception):
        pass

    class Buffer:
        lookups: list = []

        def lookup_transform(self, target, source, time):
            Buffer.lookups.append((target, source, time.nanoseconds))
            if not known or (target, source) != ("cam_optical", "laser"):
                raise TransformException(f'"{source}" passed to lookupTransform argument source_frame does not exist')
            x, y, z, w = Rotation.from_matrix(OPTICAL_FROM_BODY).as_quat()
            return types.SimpleNamespace(transform=types.SimpleNamespace(
                rotation=types.SimpleNamespace(x=x, y=y, z=z, w=w),
                translation=types.SimpleNamespace(x=0.0, y=BELOW_M, z=0.0)))

    module.TransformException, module.Buffer = TransformException, Buffer
    module.TransformListener = lambda buffer, node: types.SimpleNamespace(buffer=buffer, node=node)
    return module


def wall_scan() -> LaserScan:
    """A wall 2 m ahead across the lidar's plane."""
    scan = LaserScan(angle_min=-0.4, angle_max=0.4, angle_increment=0.01, range_min=0.1, range_max=10.0,
                     ranges=(2.0 / np.cos(np.linspace(-0.4, 0.4, 81))).tolist())
    scan.header.frame_id = "laser"
    scan.header.stamp.sec, scan.header.stamp.nanosec = divmod(STAMP, 10**9)
    return scan


def prediction() -> Prediction:
    """The wall predicted 1.25x too near from 8 rows below the principal point down, and nonsense above."""
    depth = np.full((INTR.height, INTR.width), 10.0, np.float32)
    depth[int(INTR.cy) + 8:] = 2.0 / 1.25
    return Prediction(depth, None, None, None, None, None, None, INTR)


def run(monkeypatch, tf2_ros) -> FakeNode:
    monkeypatch.setitem(sys.modules, "tf2_ros", tf2_ros)  # None: "import tf2_ros" raises ImportError
    node = FakeNode()
    scale_input = ScaleInput(node, node.config, qos=10)
    scale_input._on_message(wall_scan())
    scale_input.apply(prediction(), STAMP, "cam_optical")
    scale_input.apply(prediction(), STAMP, "cam_optical")
    return node


def test_the_lidar_pose_comes_from_tf_where_tf2_knows_it(monkeypatch):
    """tf puts the scan 20 cm below the camera: it lands 16 px lower, on the part predicted 1.25x near."""
    tf2_ros = fake_tf2_ros(known=True)
    node = run(monkeypatch, tf2_ros)
    assert node.stats.scale["scale_laser_pose"] == "tf"
    assert float(node.stats.scale["scale"]) == pytest.approx(1.25, rel=1e-3)
    assert tf2_ros.Buffer.lookups[0] == ("cam_optical", "laser", STAMP)
    assert [kind for kind, _ in node.lines] == ["info"] and "from tf ('laser' -> 'cam_optical')" in node.lines[0][1]


def test_without_tf2_ros_laser_extrinsic_is_used_and_said_once(monkeypatch):
    """Not importable (this machine): one info line; the default extrinsic puts the scan on row cy."""
    node = run(monkeypatch, None)
    assert node.lines == [("info", "laser_scan: tf2_ros is not importable here; the lidar pose comes from the "
                                   "laser_extrinsic parameter")]
    assert node.stats.scale["scale_laser_pose"] == "laser_extrinsic"
    assert float(node.stats.scale["scale"]) == pytest.approx(0.2, rel=1e-3)  # 2 m over the 10 m nonsense


def test_a_transform_tf_does_not_have_falls_back_with_one_warning(monkeypatch):
    """tf2 importable but no laser -> camera transform: one warning naming both frames and the parameter."""
    node = run(monkeypatch, fake_tf2_ros(known=False))
    warnings = [text for kind, text in node.lines if kind == "warning"]
    assert len(warnings) == 1
    assert "no tf 'laser' -> 'cam_optical'" in warnings[0]
    assert "laser_extrinsic parameter ('0 0 0 0 0 0')" in warnings[0]
    assert node.stats.scale["scale_laser_pose"] == "laser_extrinsic"

"""A recorded points topic becomes PLY files without ros2 bag, with clear errors for a wrong topic."""
from __future__ import annotations

import numpy as np
import open3d as o3d
import pytest

from modot_ros.bags.io import BagWriter
from modot_ros.bags.points_to_ply import main
from modot_ros.geometry import CameraIntrinsics
from modot_ros.pipeline.messages import intrinsics_to_camera_info
from modot_ros.pipeline.pointcloud import cloud_to_msg, pack_pointcloud
from tests.msg_flavours import FLAVOURS, TYPESTORE

H, W = 6, 8
INTR = CameraIntrinsics(10.0, 10.0, 3.5, 2.5, W, H)


def _cloud(i: int):
    """An organized cloud with NaN holes, colours and confidence; its z encodes the index."""
    xyz = np.zeros((H, W, 3), np.float32)
    xyz[..., 0], xyz[..., 1] = np.meshgrid(np.arange(W), np.arange(H))
    xyz[..., 2] = 1.0 + i
    xyz[0, :3] = np.nan
    rgb = np.full((H, W, 3), (10 * i, 20, 30), np.uint8)
    confidence = np.full((H, W), 0.25 * i, np.float32)
    return xyz, rgb, confidence


def _write_bag(path, n=3):
    flavour = FLAVOURS["rosbags"]()
    with BagWriter(path, typestore=TYPESTORE) as writer:
        for i in range(n):
            xyz, rgb, confidence = _cloud(i)
            buffer = pack_pointcloud(xyz, rgb=rgb, boundary=np.zeros((H, W), np.float32), confidence=confidence)
            msg = cloud_to_msg(buffer, flavour.header("camera", 10 + i), flavour.cloud, flavour.field)
            writer.write("/modot/points", msg, (10 + i) * 10**9)
            info = intrinsics_to_camera_info(INTR, flavour.header("camera", 10 + i), flavour.info, flavour.roi)
            writer.write("/modot/depth/camera_info", info, (10 + i) * 10**9)
    return path


def test_every_cloud_becomes_a_ply_with_its_points_colours_and_fields(tmp_path):
    """Each message -> one PLY named by stamp; finite points, colours and confidence survive."""
    bag = _write_bag(tmp_path / "bag")
    assert main([str(bag), "--output", str(tmp_path / "ply")]) == 0  # the one PointCloud2 topic is found
    files = sorted((tmp_path / "ply").glob("*.ply"))
    assert [f.name for f in files] == [f"points_{(10 + i) * 10**9 + 5:019d}.ply" for i in range(3)]
    for i, path in enumerate(files):
        cloud = o3d.t.io.read_point_cloud(str(path))
        xyz, rgb, confidence = _cloud(i)
        keep = np.isfinite(xyz).all(axis=2).reshape(-1)
        np.testing.assert_array_equal(cloud.point.positions.numpy(), xyz.reshape(-1, 3)[keep])
        np.testing.assert_array_equal(cloud.point.colors.numpy(), rgb.reshape(-1, 3)[keep])
        np.testing.assert_array_equal(cloud.point.confidence.numpy()[:, 0], confidence.reshape(-1)[keep])


def test_every_and_max_thin_the_export(tmp_path):
    bag = _write_bag(tmp_path / "bag", n=5)
    assert main([str(bag), "--topic", "/modot/points", "-o", str(tmp_path / "ply"), "--every", "2", "--max", "2"]) == 0
    assert len(list((tmp_path / "ply").glob("*.ply"))) == 2


@pytest.mark.parametrize("args, message", [
    (["--topic", "/nope"], "topic /nope (--topic) is not in the bag"),
    (["--topic", "/modot/depth/camera_info"], "is sensor_msgs/msg/CameraInfo, expected sensor_msgs/msg/PointCloud2"),
])
def test_wrong_topic_is_one_clear_line(tmp_path, capsys, args, message):
    """A wrong topic names the topic and what the bag has; the tool exits non-zero."""
    bag = _write_bag(tmp_path / "bag", n=1)
    assert main([str(bag), "-o", str(tmp_path / "ply"), *args]) == 1
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_missing_bag_is_one_clear_line(tmp_path, capsys):
    assert main([str(tmp_path / "absent"), "-o", str(tmp_path / "ply")]) == 1
    assert "absent does not exist" in capsys.readouterr().err

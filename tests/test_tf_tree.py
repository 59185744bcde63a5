"""The /tf tree read from bags without tf2: chains composed like tf2, checked against hand-built products."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from modot_ros.bags.io import open_bag
from modot_ros.bags.tf_tree import TfError, TransformTree, read_tf
from modot_ros.geometry import interpolate_rigid, invert_rigid, pose_from_axis_angle_torch, rigid_transform
from tests.video_cases import PERIOD_NS, START_NS, T_BASE_CAMERA, camera_pose, write_video_bag

S = 1_000_000_000


def random_rigid(rng: np.random.Generator) -> np.ndarray:
    return rigid_transform(Rotation.random(random_state=rng.integers(1 << 30)).as_quat(), rng.normal(size=3))


@pytest.fixture
def robot(rng):
    """map -(static)-> odom -(dynamic, 2 samples)-> base_link -(static)-> camera_link -> camera_optical, base -> imu."""
    edges = {name: random_rigid(rng) for name in ("map_odom", "base_cam", "cam_opt", "base_imu")}
    odom_base = [random_rigid(rng), random_rigid(rng)]
    tree = TransformTree()
    tree.add("map", "odom", 0, edges["map_odom"], static=True)
    tree.add("/odom", "base_link", 2 * S, odom_base[1], static=False)  # out of order, leading '/'
    tree.add("odom", "base_link", S, odom_base[0], static=False)
    tree.add("base_link", "camera_link", 0, edges["base_cam"], static=True)
    tree.add("camera_link", "camera_optical", 0, edges["cam_opt"], static=True)
    tree.add("base_link", "imu", 0, edges["base_imu"], static=True)
    return tree, edges, odom_base


def test_chain_through_static_and_dynamic_edges_is_their_product(robot):
    """T_map_optical = static map->odom @ dynamic odom->base @ two static edges, at a sample's stamp."""
    tree, e, odom_base = robot
    expected = e["map_odom"] @ odom_base[0] @ e["base_cam"] @ e["cam_opt"]
    np.testing.assert_allclose(tree.lookup("map", "camera_optical", S), expected, atol=1e-12)
    np.testing.assert_allclose(tree.lookup("camera_optical", "map", S), invert_rigid(expected), atol=1e-12)


def test_lookup_between_branches_goes_up_then_down(robot):
    """imu -> optical meets at base_link: inv(T_base_imu) @ T_base_cam @ T_cam_opt, no dynamic edge needed."""
    tree, e, _ = robot
    expected = invert_rigid(e["base_imu"]) @ e["base_cam"] @ e["cam_opt"]
    np.testing.assert_allclose(tree.lookup("imu", "camera_optical", 123), expected, atol=1e-12)
    assert tree.root("camera_optical") == "map"


def test_dynamic_edge_is_interpolated_between_its_samples(robot):
    """Half-way between two odometry samples: midpoint translation, half the rotation (slerp)."""
    tree, e, odom_base = robot
    half = tree.lookup("odom", "base_link", S + S // 2)
    np.testing.assert_allclose(half[:3, 3], (odom_base[0][:3, 3] + odom_base[1][:3, 3]) / 2, atol=1e-12)
    step = Rotation.from_matrix(odom_base[0][:3, :3].T @ odom_base[1][:3, :3]).as_rotvec()
    halfway = Rotation.from_matrix(odom_base[0][:3, :3].T @ half[:3, :3]).as_rotvec()
    np.testing.assert_allclose(halfway, step / 2, atol=1e-9)
    np.testing.assert_allclose(interpolate_rigid(odom_base[0], odom_base[1], 0.0), odom_base[0], atol=1e-12)


def test_stamps_outside_the_odometry_use_the_nearest_sample_only_within_tolerance(robot):
    """20 ms before the first sample: that sample; 1 s before: one error naming the edge and its stamps."""
    tree, _, odom_base = robot
    np.testing.assert_allclose(tree.lookup("odom", "base_link", S - 20_000_000), odom_base[0], atol=1e-12)
    with pytest.raises(TfError, match=r"odom -> base_link covers stamps"):
        tree.lookup("odom", "base_link", 0)


def test_frames_that_do_not_connect_are_one_clear_error(robot):
    """A second tree, an unknown frame and a second parent are refused with the frames named."""
    tree, e, _ = robot
    tree.add("world", "lidar", 0, e["map_odom"], static=True)
    with pytest.raises(TfError, match=r"camera_optical \(tree of map\).*lidar \(tree of world\).*not connected"):
        tree.lookup("camera_optical", "lidar", S)
    with pytest.raises(TfError, match=r"frame camera_color_optical_frame is not in /tf"):
        tree.lookup("map", "camera_color_optical_frame", S)
    with pytest.raises(TfError, match="two parents"):
        tree.add("map", "base_link", S, e["map_odom"], static=False)


def test_bag_tf_gives_the_engine_camera_pose_at_image_stamps(tmp_path):
    """/tf (60 Hz, between the image stamps) + /tf_static from a bag -> the exact camera pose within 2 mm."""
    bag = write_video_bag(tmp_path / "bag", n_frames=3, height=32, width=48)
    with open_bag(bag) as reader:
        tree = read_tf(reader)
    for frame in range(3):
        T = tree.lookup("odom", "camera_optical_frame", START_NS + frame * PERIOD_NS)
        np.testing.assert_allclose(T, camera_pose(frame), atol=2e-3)
    np.testing.assert_allclose(tree.lookup("base_link", "camera_optical_frame", 0), T_BASE_CAMERA, atol=1e-9)


def test_axis_angle_poses_match_scipy_and_start_at_identity():
    """The pose network's (axis-angle, translation) -> 4x4 agrees with scipy; zero motion is the identity."""
    axis_angle = torch.tensor([[0.3, -0.2, 0.5], [0.0, 0.0, 0.0], [1e-4, 0.0, 0.0]], dtype=torch.float64)
    translation = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [0.1, 0.0, 0.0]], dtype=torch.float64)
    T = pose_from_axis_angle_torch(axis_angle, translation).numpy()
    for i in range(3):
        np.testing.assert_allclose(T[i, :3, :3], Rotation.from_rotvec(axis_angle[i].numpy()).as_matrix(), atol=1e-9)
        np.testing.assert_allclose(T[i, :3, 3], translation[i].numpy())
    np.testing.assert_allclose(T[1], np.eye(4), atol=1e-9)

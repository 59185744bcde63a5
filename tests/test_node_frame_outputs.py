"""frame_outputs + edge_points: one frame of node output from a constructed two-plane mixture."""
import numpy as np
import pytest

from modot_ros.pipeline.edge_points import cloud_depth, edge_mask
from modot_ros.bags.typestore import rosbags_message_types
from modot_ros.pipeline.frame_outputs import compute_frame_arrays, frame_messages
from modot_ros.pipeline.options import OutputOptions
from modot_ros.geometry import CameraIntrinsics
from modot_ros.inference import Prediction
from modot_ros.pipeline.messages import camera_info_to_intrinsics, image_to_array, intrinsics_to_camera_info
from modot_ros.pipeline.pointcloud import read_cloud_fields, unpack_rgb
from tests.msg_flavours import FLAVOURS, TYPESTORE

H, W = 24, 64
NEAR, FAR = 1.0, 3.0
EDGE_COLS = slice(30, 34)  # ambiguous strip between the near (left) and far (right) planes
INTR = CameraIntrinsics(80.0, 80.0, 31.5, 11.5, W, H)


def two_planes() -> Prediction:
    """Near plane left of column 32, far plane right.

    At the strip both components are present with equal weight, as a trained mixture head predicts
    at an occlusion boundary.
    """
    w1 = np.where(np.arange(W) < 32, 0.999, 0.001).astype(np.float32)[None].repeat(H, 0)
    w1[:, EDGE_COLS] = 0.5
    params = np.stack([np.full((H, W), 1 / NEAR), np.full((H, W), 1 / FAR),
                       np.full((H, W), 0.01), np.full((H, W), 0.01), w1]).astype(np.float32)
    dominant = np.where(w1 >= 0.5, NEAR, FAR).astype(np.float32)
    mean = (1.0 / (w1 / NEAR + (1 - w1) / FAR)).astype(np.float32)
    ambiguity = (1 - np.maximum(w1, 1 - w1)).astype(np.float32)
    boundary = np.zeros((H, W), np.float32)
    boundary[:, 31:33] = 0.9
    return Prediction(depth=dominant, depth_mean=mean, boundary=boundary, confidence=1 - ambiguity,
                      ambiguity=ambiguity, sigma=np.full((H, W), 0.01, np.float32), params=params,
                      intrinsics=INTR)


RGB = np.random.default_rng(1).integers(0, 256, (H, W, 3), dtype=np.uint8)


def cloud_z(options: OutputOptions) -> np.ndarray:
    return read_cloud_fields(_msgs(options)["points"])["z"]


def _msgs(options, flavour="rosbags", prediction=None):
    types = rosbags_message_types(TYPESTORE) if flavour == "rosbags" else _rclpy_types()
    f = FLAVOURS[flavour]()
    header = f.header("camera_optical_frame", 7)
    info = intrinsics_to_camera_info(INTR, header, f.info, f.roi)
    arrays = compute_frame_arrays(prediction or two_planes(), RGB, options)
    return frame_messages(arrays, header, info, types, options)


def _rclpy_types():
    from modot_ros.ros.message_types import rclpy_message_types
    return rclpy_message_types()


def test_edge_mask_combines_ambiguity_and_boundary():
    """Edge pixels are where the mixture is split or the OB head fires, so users can tune both."""
    p = two_planes()
    edges = edge_mask(p.ambiguity, p.boundary, ambiguity_threshold=0.3, occlusion_threshold=0.5)
    assert edges[:, EDGE_COLS].all() and edges.sum() == H * 4
    only_ob = edge_mask(p.ambiguity, p.boundary, ambiguity_threshold=0.6, occlusion_threshold=0.5)
    assert only_ob.sum() == H * 2


def test_keep_mixture_has_no_flying_points_but_mean_does():
    """The dominant mode puts every point on a surface; the weighted mean makes flying pixels."""
    sharp = cloud_z(OutputOptions(edge_points="keep"))
    assert np.isin(sharp, [NEAR, FAR]).all()
    blurry = cloud_z(OutputOptions(edge_points="keep", edge_mode="mean"))
    between = (blurry > NEAR + 0.05) & (blurry < FAR - 0.05)
    assert between[:, EDGE_COLS].all() and between.sum() == H * 4


def test_drop_removes_exactly_the_edge_points():
    """drop leaves NaN at edge pixels (organized cloud) and keeps every other point."""
    z = cloud_z(OutputOptions(edge_points="drop", edge_mode="mean"))
    assert np.isnan(z[:, EDGE_COLS]).all()
    assert np.isfinite(np.delete(z, np.r_[EDGE_COLS], axis=1)).all()


def test_snap_assigns_edge_points_to_the_nearer_surface_never_between():
    """snap moves each edge point onto the surface its neighbourhood belongs to."""
    z = cloud_z(OutputOptions(edge_points="snap", edge_mode="mean"))
    assert np.isfinite(z).all()
    assert (z[:, 30:32] == NEAR).all() and (z[:, 32:34] == FAR).all()


def test_snap_without_mixture_drops():
    """A regression model has no components to snap to: edge points are dropped, not smeared."""
    p = two_planes()
    z = cloud_depth(p.depth_mean, edge_mask(p.ambiguity, p.boundary, 0.3, 0.5), "snap", p.params[:1])
    assert np.isnan(z[:, EDGE_COLS]).all()


@pytest.mark.parametrize("flavour", ["rosbags", "rclpy"])
def test_messages_topics_encodings_headers(flavour):
    """Every topic carries the input header and the REP 118 encodings consumers expect."""
    options = OutputOptions(publish_depth_mm=True, publish_mixture=True)
    msgs = _msgs(options, flavour)
    assert set(msgs) == {"depth/image", "depth/camera_info", "depth/image_raw", "depth/confidence",
                         "occlusion/boundary", "occlusion/mask", "points", "depth_boundary",
                         "depth_mixture"}
    for msg in msgs.values():
        assert msg.header.frame_id == "camera_optical_frame" and msg.header.stamp.sec == 7
    enc = {k: m.encoding for k, m in msgs.items() if hasattr(m, "encoding")}
    assert enc == {"depth/image": "32FC1", "depth/image_raw": "16UC1", "depth/confidence": "32FC1",
                   "occlusion/boundary": "32FC1", "occlusion/mask": "mono8"}
    assert set(np.unique(image_to_array(msgs["occlusion/mask"]))) == {0, 255}
    mm = image_to_array(msgs["depth/image_raw"])
    assert set(np.unique(mm)) == {1000, 3000}
    assert msgs["points"].height == H and msgs["points"].width == W


def test_optional_topics_off_by_default():
    """16UC1 and the mixture message cost bandwidth: they appear only when asked for."""
    msgs = _msgs(OutputOptions(publish_points=False))
    assert set(msgs) == {"depth/image", "depth/camera_info", "depth/confidence",
                         "occlusion/boundary", "occlusion/mask", "depth_boundary"}


@pytest.mark.parametrize("wanted", [{"depth/image"}, {"points", "depth/camera_info"}, {"depth_boundary"}, set()])
def test_only_the_wanted_topics_are_built(wanted):
    """Under ``lazy`` the node builds only what has a subscriber; the bundle still carries its three images."""
    options = OutputOptions(publish_depth_mm=True, publish_mixture=True)
    arrays = compute_frame_arrays(two_planes(), RGB, options)
    f = FLAVOURS["rosbags"]()
    header = f.header("camera_optical_frame", 7)
    info = intrinsics_to_camera_info(INTR, header, f.info, f.roi)
    msgs = frame_messages(arrays, header, info, rosbags_message_types(TYPESTORE), options, wanted=wanted)
    assert set(msgs) == wanted
    if "depth_boundary" in wanted:
        every = frame_messages(arrays, header, info, rosbags_message_types(TYPESTORE), options)
        for part in ("depth", "boundary", "confidence"):
            np.testing.assert_array_equal(image_to_array(getattr(msgs["depth_boundary"], part)),
                                          image_to_array(getattr(every["depth_boundary"], part)))


def test_bundle_matches_individual_topics_and_survives_cdr():
    """DepthBoundary carries the same pixels as the separate topics, so either can be used."""
    msgs = _msgs(OutputOptions(publish_mixture=True))
    bundle = msgs["depth_boundary"]
    for part, topic in (("depth", "depth/image"), ("boundary", "occlusion/boundary"),
                        ("confidence", "depth/confidence")):
        np.testing.assert_array_equal(image_to_array(getattr(bundle, part)), image_to_array(msgs[topic]))
    for name in ("modot_ros_msgs/msg/DepthBoundary", "modot_ros_msgs/msg/DepthMixture"):
        msg = msgs["depth_boundary" if "Boundary" in name else "depth_mixture"]
        back = TYPESTORE.deserialize_cdr(TYPESTORE.serialize_cdr(msg, name), name)
        assert back.header.stamp.sec == 7
    means = np.frombuffer(msgs["depth_mixture"].means.data, "<f4").reshape(H, W, 2)
    np.testing.assert_allclose(means[0, 0], [1 / NEAR, 1 / FAR], rtol=1e-6)


def test_output_scale_scales_camera_info_exactly():
    """Half-size outputs come with intrinsics that project onto the half-size pixels."""
    p = two_planes()
    options = OutputOptions(output_scale=0.5)
    assert options.output_size(W, H) == (W // 2, H // 2)
    small = INTR.scaled_to(W // 2, H // 2)
    pred = Prediction(**{k: v[::2, ::2] for k, v in vars(p).items()
                         if isinstance(v, np.ndarray) and v.ndim == 2},
                      params=p.params[:, ::2, ::2], intrinsics=small)
    msgs = _msgs(options, prediction=pred)
    got = camera_info_to_intrinsics(msgs["depth/camera_info"])
    assert (got.width, got.height) == (W // 2, H // 2)
    np.testing.assert_allclose([got.fx, got.fy, got.cx, got.cy], [small.fx, small.fy, small.cx, small.cy])
    rgb = unpack_rgb(read_cloud_fields(msgs["points"])["rgb"])
    assert rgb.shape == (H // 2, W // 2, 3)


def test_unorganized_decimated_cloud_has_only_finite_points():
    """Unorganized clouds keep finite points only (is_dense) and decimation thins them."""
    msgs = _msgs(OutputOptions(organized=False, cloud_decimation=2, edge_points="drop"))
    cloud = msgs["points"]
    assert cloud.height == 1 and cloud.is_dense
    z = read_cloud_fields(cloud)["z"]
    assert np.isfinite(z).all() and z.size == (H // 2) * (W // 2 - 2)


def test_min_confidence_leaves_unsure_points_out_but_keeps_the_clearing_fill():
    """Costmaps get only confident points; invalid_depth still fills pixels with no depth at all."""
    p = two_planes()
    confidence = np.ones((H, W), np.float32)
    confidence[:5, :10] = 0.2  # an unsure patch on the near plane, away from the edge
    depth = p.depth.copy()
    depth[-1, -1] = np.nan  # no read-out there: the clearing fill's pixel
    p = Prediction(**{**p.__dict__, "confidence": confidence, "depth": depth})
    options = dict(edge_points="keep", invalid_depth=9.0)
    everything = read_cloud_fields(_msgs(OutputOptions(**options), prediction=p)["points"])["z"]
    assert np.isfinite(everything[:5, :10]).all()
    z = read_cloud_fields(_msgs(OutputOptions(**options, min_confidence=0.5), prediction=p)["points"])["z"]
    assert np.isnan(z[:5, :10]).all() and np.isfinite(z).sum() == H * W - 50
    assert z[-1, -1] == 9.0


def test_veiling_post_filter_leaves_out_points_next_to_a_depth_jump():
    """veiling_threshold drops the points whose neighbours jump in depth, on top of edge_points."""
    z = cloud_z(OutputOptions(edge_points="keep", edge_mode="mixture", veiling_threshold=0.1))
    assert np.isnan(z[:, 33:35]).all()  # the dominant mode (near at w = 0.5) jumps to 3 m after column 33
    assert np.isfinite(np.delete(z, [33, 34], axis=1)).all()
    assert np.isfinite(cloud_z(OutputOptions(edge_points="keep", veiling_threshold=2.5))).all()  # 3x < 1 + 2.5

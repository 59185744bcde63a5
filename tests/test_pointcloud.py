"""PointCloud2 packing: PCL-compatible layout, fields by name, organized/unorganized, decimation."""
import numpy as np
import pytest

from modot_ros.geometry import CameraIntrinsics, backproject
from modot_ros.pipeline.pointcloud import cloud_to_msg, pack_pointcloud, read_cloud_fields, unpack_rgb
from tests.msg_flavours import FLAVOURS


@pytest.fixture(params=list(FLAVOURS))
def flavour(request):
    return FLAVOURS[request.param]()


def _inputs(rng, height=6, width=8):
    intr = CameraIntrinsics(10.0, 10.0, width / 2, height / 2, width, height)
    depth = rng.uniform(1, 5, (height, width)).astype(np.float32)
    depth[0, 0] = np.nan
    rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    boundary = rng.uniform(0, 1, (height, width)).astype(np.float32)
    confidence = rng.uniform(0, 1, (height, width)).astype(np.float32)
    return backproject(depth, intr), rgb, boundary, confidence


def test_organized_cloud_fields_read_back_by_name(flavour, rng):
    """x,y,z,boundary,rgb,confidence survive CDR at the PCL offsets, NaN kept, is_dense false."""
    xyz, rgb, boundary, confidence = _inputs(rng)
    cloud = pack_pointcloud(xyz, rgb=rgb, boundary=boundary, confidence=confidence)
    msg = flavour.round_trip(cloud_to_msg(cloud, flavour.header("cam", 2), flavour.cloud, flavour.field))
    offsets = {"x": 0, "y": 4, "z": 8, "boundary": 12, "rgb": 16, "confidence": 20}
    assert {f.name: f.offset for f in msg.fields} == offsets
    assert (msg.height, msg.width, msg.point_step, msg.row_step, msg.is_dense) == (6, 8, 32, 256, False)
    fields = read_cloud_fields(msg)
    np.testing.assert_array_equal(np.stack([fields["x"], fields["y"], fields["z"]], -1), xyz)
    np.testing.assert_array_equal(fields["boundary"], boundary)
    np.testing.assert_array_equal(fields["confidence"], confidence)
    np.testing.assert_array_equal(unpack_rgb(fields["rgb"]), rgb)


def test_unorganized_cloud_keeps_only_finite_points(rng):
    """Unorganized clouds are 1xN, finite only, is_dense true, fields aligned with their points."""
    xyz, rgb, boundary, _ = _inputs(rng)
    cloud = pack_pointcloud(xyz, rgb=rgb, boundary=boundary, organized=False)
    flavour = FLAVOURS["rosbags"]()
    fields = read_cloud_fields(cloud_to_msg(cloud, flavour.header("c", 0), flavour.cloud, flavour.field))
    finite = np.isfinite(xyz).all(axis=2)
    assert (cloud.height, cloud.width, cloud.is_dense) == (1, finite.sum(), True)
    np.testing.assert_array_equal(fields["z"][0], xyz[..., 2][finite])
    np.testing.assert_array_equal(unpack_rgb(fields["rgb"][0]), rgb[finite])


def test_xyz_boundary_only_uses_16_byte_points_and_decimation(rng):
    """Without colour or confidence points are 16 bytes; decimation keeps every Nth pixel."""
    xyz, _, boundary, _ = _inputs(rng)
    cloud = pack_pointcloud(xyz, boundary=boundary, decimation=2)
    assert (cloud.point_step, cloud.height, cloud.width) == (16, 3, 4)
    flavour = FLAVOURS["rosbags"]()
    fields = read_cloud_fields(cloud_to_msg(cloud, flavour.header("c", 0), flavour.cloud, flavour.field))
    np.testing.assert_array_equal(fields["boundary"], boundary[::2, ::2])


def test_bad_cloud_inputs_are_named(rng):
    """Mismatched field shapes or decimation < 1 raise one error naming the problem."""
    xyz, rgb, _, _ = _inputs(rng)
    with pytest.raises(ValueError, match="'rgb' has shape"):
        pack_pointcloud(xyz, rgb=rgb[:2])
    with pytest.raises(ValueError, match="decimation"):
        pack_pointcloud(xyz, decimation=0)


def test_all_invalid_unorganized_cloud_is_empty_not_an_error(rng):
    """A frame with no valid depth gives an empty 1x0 cloud that still serialises."""
    xyz, rgb, _, _ = _inputs(rng)
    xyz[:] = np.nan
    cloud = pack_pointcloud(xyz, rgb=rgb, organized=False)
    flavour = FLAVOURS["rosbags"]()
    msg = flavour.round_trip(cloud_to_msg(cloud, flavour.header("c", 0), flavour.cloud, flavour.field))
    assert (msg.height, msg.width, len(msg.data)) == (1, 0, 0)

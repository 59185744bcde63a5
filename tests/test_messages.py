"""Image / CameraInfo conversions: what cv_bridge would give, for rclpy and rosbags messages."""
import numpy as np
import pytest
from rclpy.serialization import serialize_message

from modot_ros.depth_units import metres_to_millimetres, millimetres_to_metres
from modot_ros.geometry import CameraIntrinsics
from modot_ros.pipeline.messages import (
    MessageError,
    array_to_image,
    camera_info_to_intrinsics,
    check_image_matches_info,
    image_to_array,
    image_to_depth_metres,
    image_to_rgb,
    intrinsics_to_camera_info,
    scale_camera_info,
)
from tests.msg_flavours import FLAVOURS, TYPESTORE

SAMPLES = {
    "rgb8": (np.uint8, (5, 7, 3)),
    "bgr8": (np.uint8, (5, 7, 3)),
    "rgba8": (np.uint8, (5, 7, 4)),
    "bgra8": (np.uint8, (5, 7, 4)),
    "mono8": (np.uint8, (5, 7)),
    "mono16": (np.uint16, (5, 7)),
    "16UC1": (np.uint16, (5, 7)),
    "32FC1": (np.float32, (5, 7)),
}


@pytest.fixture(params=list(FLAVOURS))
def flavour(request):
    return FLAVOURS[request.param]()


def _sample(encoding, rng):
    dtype, shape = SAMPLES[encoding]
    if dtype is np.float32:
        return rng.uniform(0, 50, shape).astype(np.float32)
    return rng.integers(0, np.iinfo(dtype).max, shape, dtype=dtype, endpoint=True)


@pytest.mark.parametrize("encoding", list(SAMPLES))
def test_image_round_trip_through_cdr(flavour, encoding, rng):
    """Every supported encoding survives array -> message -> CDR bytes -> message -> array."""
    pixels = _sample(encoding, rng)
    msg = array_to_image(pixels, encoding, flavour.header("cam", 3), flavour.image)
    back = flavour.round_trip(msg)
    np.testing.assert_array_equal(image_to_array(back), pixels)
    assert (back.header.frame_id, back.header.stamp.sec) == ("cam", 3)


def test_rclpy_and_rosbags_agree_on_cdr(rng):
    """Bytes written by rclpy read back identically with rosbags (bags and live topics mix)."""
    rclpy_flavour = FLAVOURS["rclpy"]()
    pixels = _sample("rgb8", rng)
    msg = array_to_image(pixels, "rgb8", rclpy_flavour.header("cam", 1), rclpy_flavour.image)
    from_bag = TYPESTORE.deserialize_cdr(serialize_message(msg), "sensor_msgs/msg/Image")
    np.testing.assert_array_equal(image_to_array(from_bag), pixels)


def test_padded_rows_and_big_endian_are_respected(rng):
    """Rows padded past width*bpp and big-endian 16-bit data decode to the same pixels."""
    flavour = FLAVOURS["rosbags"]()
    pixels = _sample("16UC1", rng)
    padded = np.zeros((5, 7 * 2 + 6), np.uint8)
    padded[:, :14] = pixels.astype(">u2").view(np.uint8).reshape(5, 14)
    msg = flavour.image(header=flavour.header("c", 0), height=5, width=7, encoding="16UC1",
                        is_bigendian=1, step=20, data=padded.reshape(-1))
    np.testing.assert_array_equal(image_to_array(msg), pixels)


def test_rgb_views_from_colour_encodings(rng):
    """bgr8/bgra8/mono8 all come back as RGB; rgb8 is a zero-copy view of the message data."""
    flavour = FLAVOURS["rosbags"]()
    rgb = _sample("rgb8", rng)
    header = flavour.header("c", 0)
    rgb_msg = array_to_image(rgb, "rgb8", header, flavour.image)
    assert np.shares_memory(image_to_rgb(rgb_msg), rgb_msg.data)
    np.testing.assert_array_equal(image_to_rgb(array_to_image(rgb[..., ::-1], "bgr8", header, flavour.image)), rgb)
    bgra = np.concatenate([rgb[..., ::-1], np.full(rgb.shape[:2] + (1,), 255, np.uint8)], axis=2)
    np.testing.assert_array_equal(image_to_rgb(array_to_image(bgra, "bgra8", header, flavour.image)), rgb)
    grey = image_to_rgb(array_to_image(rgb[..., 0], "mono8", header, flavour.image))
    assert grey.shape == rgb.shape and (grey[..., 1] == rgb[..., 0]).all()


def test_depth_units_follow_rep_117_118():
    """mm <-> m: 0 mm and NaN/Inf/too-far metres are the invalid values of each encoding."""
    metres = np.array([[0.5, np.nan, np.inf], [-np.inf, 70.0, 1.2344]], np.float32)
    mm = metres_to_millimetres(metres)
    np.testing.assert_array_equal(mm, [[500, 0, 0], [0, 0, 1234]])
    back = millimetres_to_metres(mm)
    assert np.isnan(back[0, 1]) and back[0, 0] == pytest.approx(0.5)
    flavour = FLAVOURS["rosbags"]()
    msg = array_to_image(mm, "16UC1", flavour.header("c", 0), flavour.image)
    np.testing.assert_array_equal(np.isnan(image_to_depth_metres(msg)), np.isnan(back))


@pytest.mark.parametrize(
    "change, field",
    [({"encoding": "yuv422"}, "encoding 'yuv422'"), ({"step": 3}, "step=3"), ({"height": 0}, "zero size"),
     ({"data": np.zeros(10, np.uint8)}, "data has 10 bytes")],
)
def test_bad_images_name_the_field(change, field):
    """Unsupported or inconsistent images raise one MessageError naming the field and value."""
    flavour = FLAVOURS["rosbags"]()
    fields = dict(header=flavour.header("c", 0), height=5, width=7, encoding="rgb8", is_bigendian=0,
                  step=21, data=np.zeros(105, np.uint8)) | change
    with pytest.raises(MessageError, match=field):
        image_to_array(flavour.image(**fields))


def _info(flavour, width=640, height=480, roi=(0, 0, 0, 0), binning=(0, 0)):
    intr = CameraIntrinsics(520.0, 515.0, 319.2, 241.7, width, height)
    info = intrinsics_to_camera_info(intr, flavour.header("cam", 0), flavour.info, flavour.roi)
    info.roi = flavour.roi(x_offset=roi[0], y_offset=roi[1], width=roi[2], height=roi[3], do_rectify=False)
    info.binning_x, info.binning_y = binning
    return info


def test_camera_info_scaling_matches_intrinsics_scaling(flavour):
    """scale_camera_info gives exactly the intrinsics of the resized image, K and P alike."""
    info = _info(flavour)
    scaled = flavour.round_trip(scale_camera_info(info, 320, 240, flavour.info))
    expected = camera_info_to_intrinsics(info).scaled_to(320, 240)
    np.testing.assert_allclose(np.reshape(scaled.k, (3, 3)), expected.matrix(), atol=1e-9)
    np.testing.assert_allclose(np.reshape(scaled.p, (3, 4))[:, :3], expected.matrix(), atol=1e-9)
    assert (scaled.width, scaled.height, scaled.header.frame_id) == (320, 240, "cam")


def test_roi_and_binning_define_the_published_image():
    """An roi crop then 2x binning gives the intrinsics of the 100x50 image actually sent."""
    flavour = FLAVOURS["rosbags"]()
    info = _info(flavour, roi=(40, 20, 200, 100), binning=(2, 2))
    intr = camera_info_to_intrinsics(info)
    expected = CameraIntrinsics(520.0, 515.0, 319.2, 241.7, 640, 480).cropped(40, 20, 200, 100).scaled_to(100, 50)
    np.testing.assert_allclose(intr.matrix(), expected.matrix(), atol=1e-9)
    image = array_to_image(np.zeros((50, 100, 3), np.uint8), "rgb8", info.header, flavour.image)
    check_image_matches_info(image, info)
    wrong = array_to_image(np.zeros((48, 100, 3), np.uint8), "rgb8", info.header, flavour.image)
    with pytest.raises(MessageError, match="describes 100x50 images but the image is 100x48"):
        check_image_matches_info(wrong, info)


def test_bad_camera_info_is_rejected():
    """Zero or NaN intrinsics are refused with the values in the message."""
    flavour = FLAVOURS["rosbags"]()
    info = _info(flavour)
    info.k[0] = 0.0
    info.p[0] = 0.0
    with pytest.raises(MessageError, match="focal lengths"):
        camera_info_to_intrinsics(info)
    info = _info(flavour)
    info.p[0] = np.nan
    with pytest.raises(MessageError, match="finite"):
        camera_info_to_intrinsics(info)


@pytest.mark.parametrize("matrix", ["k", "p"])
def test_nan_in_the_unused_matrix_is_rejected_too(matrix):
    """NaN in K with a valid P (or the reverse) is refused: both are republished with the outputs."""
    info = _info(FLAVOURS["rosbags"]())
    getattr(info, matrix)[4] = np.nan
    with pytest.raises(MessageError, match=rf"invalid intrinsics {matrix}=\[.*nan.*{matrix.upper()} must be finite"):
        camera_info_to_intrinsics(info)

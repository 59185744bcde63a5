"""CompressedImage codecs (image_transport compressed / compressedDepth), for rclpy and rosbags messages."""
import numpy as np
import pytest

from modot_ros.pipeline.compressed import (CONFIG_HEADER, array_to_compressed, decode_array, decode_depth_metres,
                                           decode_rgb, depth_to_compressed_depth, format_encoding, parse_format)
from modot_ros.pipeline.messages import MessageError, array_to_image
from tests.bag_cases import case_depth, case_rgb
from tests.msg_flavours import FLAVOURS, TYPESTORE


@pytest.fixture(params=list(FLAVOURS))
def flavour(request):
    return FLAVOURS[request.param]()


def compressed_type(flavour):
    if flavour.name == "rosbags":
        return TYPESTORE.types["sensor_msgs/msg/CompressedImage"]
    from sensor_msgs.msg import CompressedImage
    return CompressedImage


@pytest.mark.parametrize("text, expected", [
    ("rgb8; jpeg compressed bgr8", ("rgb8", "jpeg")),
    ("bgr8; png compressed bgr8", ("bgr8", "png")),
    ("jpeg", ("", "jpeg")),
    ("16UC1; compressedDepth png", ("16UC1", "compressedDepth")),
    ("32FC1; compressedDepth", ("32FC1", "compressedDepth")),  # older publishers: png implied
])
def test_format_strings_as_image_transport_writes_them(text, expected):
    """Every format string image_transport_plugins has written parses to (encoding, codec)."""
    assert parse_format(text) == expected


@pytest.mark.parametrize("text, words", [
    ("32FC1; compressedDepth rvl", "compressedDepth codec 'rvl'"),
    ("rgb8; theora", "format 'rgb8; theora' is not supported"),
])
def test_unsupported_formats_are_named(text, words):
    """A codec we cannot decode is refused with its name, not a decode failure."""
    with pytest.raises(MessageError, match=words):
        parse_format(text)


@pytest.mark.parametrize("encoding", ["rgb8", "bgr8", "mono8"])
def test_png_colour_round_trip_is_exact_through_cdr(flavour, encoding):
    """png is lossless: the decoded RGB is the raw image's, whatever the source encoding."""
    rgb = case_rgb(3)
    raw = array_to_image({"rgb8": rgb, "bgr8": rgb[..., ::-1], "mono8": rgb[..., 1]}[encoding], encoding,
                         flavour.header("cam", 1), flavour.image)
    msg = flavour.round_trip(array_to_compressed(
        {"rgb8": rgb, "bgr8": rgb[..., ::-1], "mono8": rgb[..., 1]}[encoding], encoding, "png",
        flavour.header("cam", 1), compressed_type(flavour)))
    np.testing.assert_array_equal(decode_rgb(msg), decode_rgb(raw))
    assert format_encoding(msg) == encoding and msg.header.frame_id == "cam"


def test_jpeg_keeps_colours_in_rgb_order(flavour):
    """JPEG holds BGR (OpenCV); the decoder must hand the network RGB, not swapped channels."""
    rgb = np.zeros((32, 48, 3), np.uint8)
    rgb[..., 0] = 220  # strong red, no blue
    msg = flavour.round_trip(array_to_compressed(rgb, "rgb8", "jpeg", flavour.header("cam", 1),
                                                 compressed_type(flavour)))
    out = decode_rgb(msg)
    assert out.shape == (32, 48, 3) and abs(int(out[..., 0].mean()) - 220) <= 3 and out[..., 2].max() <= 3


@pytest.mark.parametrize("encoding, tolerance", [("16UC1", 5e-4), ("32FC1", 2e-3)])
def test_compressed_depth_round_trip_within_its_quantisation(flavour, encoding, tolerance):
    """16UC1 keeps millimetres; 32FC1 inverse depth is within A/q^2 (1.6 mm at 4 m); invalid stays NaN."""
    depth = case_depth(5)
    depth[0, :3] = (np.nan, 0.0, 12.0)  # NaN, zero and beyond the default 10 m depth_max
    msg = flavour.round_trip(depth_to_compressed_depth(depth, encoding, flavour.header("cam", 1),
                                                       compressed_type(flavour)))
    assert msg.format == f"{encoding}; compressedDepth png"
    back = decode_depth_metres(msg)
    assert back.dtype == np.float32 and back.shape == depth.shape
    assert np.isnan(back[0, :3]).all()
    np.testing.assert_allclose(back[1:], depth[1:], atol=tolerance)


def test_32fc1_follows_the_upstream_quantisation():
    """q = A/depth + B truncated, A = z0 (z0 + 1), B = 1 - A/depth_max: 2 m with the defaults is q 4041."""
    msg = depth_to_compressed_depth(np.full((2, 2), 2.0, np.float32), "32FC1", FLAVOURS["rosbags"]().header("c", 1),
                                    TYPESTORE.types["sensor_msgs/msg/CompressedImage"])
    data = np.asarray(msg.data)
    kind, quant_a, quant_b = CONFIG_HEADER.unpack(data[:12].tobytes())
    assert (kind, quant_a, quant_b) == (0, 10100.0, -1009.0)
    import cv2
    assert (cv2.imdecode(data[12:], cv2.IMREAD_UNCHANGED) == 4041).all()


def test_plain_16bit_png_depth_and_mono8_png_mask(flavour):
    """A depth published through plain 'compressed' png (16UC1 mm) and a png mask both decode."""
    header, kind = flavour.header("cam", 1), compressed_type(flavour)
    mm = np.full((4, 5), 1500, np.uint16)
    mm[0, 0] = 0
    depth = decode_depth_metres(flavour.round_trip(array_to_compressed(mm, "16UC1", "png", header, kind)))
    assert np.isnan(depth[0, 0]) and depth[1, 1] == pytest.approx(1.5)
    mask = np.zeros((4, 5), np.uint8)
    mask[:, 2] = 255
    np.testing.assert_array_equal(decode_array(array_to_compressed(mask, "mono8", "png", header, kind)), mask)


def _corrupt(msg, how):
    data = np.asarray(msg.data, np.uint8).copy()
    data = {"truncated": data[: len(data) // 2], "garbage": np.frombuffer(b"not an image" * 8, np.uint8),
            "empty": data[:0], "header_only": data[:12]}[how]
    return type(msg)(header=msg.header, format=msg.format, data=data)


@pytest.mark.parametrize("codec, how, words", [
    ("jpeg", "truncated", "the JPEG is truncated"),
    ("png", "truncated", "the PNG is truncated"),
    ("jpeg", "garbage", "neither a JPEG nor a PNG"),
    ("png", "empty", r"0 bytes\) cannot be decoded"),
    ("compressedDepth", "header_only", "has 12 bytes, not its 12-byte header and a PNG"),
    ("compressedDepth", "truncated", "the PNG is truncated"),
])
def test_bad_payload_is_one_line_naming_format_and_problem(codec, how, words, capfd):
    """A corrupt frame raises MessageError with the format and the reason, and nothing else is printed."""
    kind, header = TYPESTORE.types["sensor_msgs/msg/CompressedImage"], FLAVOURS["rosbags"]().header("c", 1)
    if codec == "compressedDepth":
        good, decode = depth_to_compressed_depth(case_depth(0), "32FC1", header, kind), decode_depth_metres
    else:
        good, decode = array_to_compressed(case_rgb(0), "rgb8", codec, header, kind), decode_rgb
    with pytest.raises(MessageError, match=words) as error:
        decode(_corrupt(good, how))
    assert "\n" not in str(error.value) and good.format in str(error.value)
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("topic, compressed, expected", [
    ("/cam/image_raw", False, ["-r", "image:=/cam/image_raw"]),
    ("/cam/image_raw/compressed", True, ["-r", "image:=/cam/image_raw", "-p", "image_transport:=compressed"]),
    ("/cam/jpeg", True, ["-r", "image/compressed:=/cam/jpeg", "-p", "image_transport:=compressed"]),
])
def test_replay_routes_a_compressed_bag_topic_to_the_node(topic, compressed, expected):
    """Live replay of a compressed bag starts the node on image_transport compressed, on the bag's topic."""
    from modot_ros.ros.tools.replay import image_arguments
    assert image_arguments(topic, compressed) == expected


def test_jpeg_padded_after_its_end_marker_still_decodes():
    """MJPEG cameras may pad a frame with zero bytes after FFD9: a whole image, not a cut one."""
    kind, header = TYPESTORE.types["sensor_msgs/msg/CompressedImage"], FLAVOURS["rosbags"]().header("c", 1)
    good = array_to_compressed(case_rgb(0), "rgb8", "jpeg", header, kind)
    padded = type(good)(header=good.header, format=good.format,
                        data=np.concatenate([np.asarray(good.data, np.uint8), np.zeros(32, np.uint8)]))
    np.testing.assert_array_equal(decode_rgb(padded), decode_rgb(good))

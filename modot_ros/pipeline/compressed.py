"""sensor_msgs CompressedImage <-> numpy (image_transport's ``compressed`` and ``compressedDepth``).

Works on rclpy and ``rosbags`` messages alike, as ``modot_ros.pipeline.messages`` does. The
``decode_*`` functions take either an Image or a CompressedImage, so the node, the bag tools and
the training ``bag`` source share one decode path.

Formats, as image_transport_plugins writes them:

* ``compressed``: ``"<encoding>; jpeg compressed bgr8"`` or ``"...; png compressed ..."`` (older
  drivers write just ``"jpeg"``); the payload is a plain JPEG/PNG with OpenCV's BGR channel order.
* ``compressedDepth``: ``"16UC1; compressedDepth png"`` or ``"32FC1; compressedDepth png"`` (older:
  ``"32FC1; compressedDepth"``, png implied). The payload is a 12-byte little-endian ConfigHeader
  (int32 format, float32 depthQuantA, float32 depthQuantB) then a 16-bit PNG. 16UC1 is stored as
  is (millimetres). 32FC1 is stored as quantised inverse depth q = A / depth + B (truncated to
  uint16; 0 for NaN or depth >= depth_max), read back as depth = A / (q - B) with q == 0 invalid.
"""
from __future__ import annotations

import struct
from typing import Any

import cv2
import numpy as np

from modot_ros.depth_units import MILLIMETRES_PER_METRE, metres_to_millimetres, millimetres_to_metres
from modot_ros.pipeline.messages import (MessageError, message_with_data, image_to_array, image_to_depth_metres,
                                         image_to_rgb)

COMPRESSED_IMAGE = "sensor_msgs/msg/CompressedImage"
CODECS = ("jpeg", "png")
CONFIG_HEADER = struct.Struct("<iff")  # compressed_depth_image_transport ConfigHeader, 12 bytes
INV_DEPTH = 0  # ConfigHeader.format of every compressedDepth payload
JPEG_START, JPEG_END = b"\xff\xd8\xff", b"\xff\xd9"
PNG_SIGNATURE, PNG_END = b"\x89PNG\r\n\x1a\n", b"IEND\xaeB`\x82"  # PNG_END: the IEND chunk type + CRC
# image_transport_plugins' defaults (depth_max m, depth_quantization) for 32FC1
DEPTH_MAX_M, DEPTH_QUANTIZATION = 10.0, 100.0


def is_compressed(msg: Any) -> bool:
    """True for a CompressedImage (it has ``format``, an Image has ``encoding``)."""
    return hasattr(msg, "format") and not hasattr(msg, "encoding")


def parse_format(text: str) -> tuple[str, str]:
    """(encoding, codec) of a format string; encoding '' when not given, codec jpeg|png|compressedDepth."""
    encoding, rest = (part.strip() for part in text.split(";", 1)) if ";" in text else ("", text.strip())
    if "compressedDepth" in rest:
        codec = rest.split("compressedDepth", 1)[1].strip() or "png"  # older publishers imply png
        if codec != "png":
            raise MessageError(f"compressedDepth codec '{codec}' (format '{text}') is not supported; "
                               "republish the depth with compressedDepth png")
        return encoding, "compressedDepth"
    codec = rest.split()[0].lower() if rest else ""
    codec = "jpeg" if codec == "jpg" else codec
    if codec not in CODECS:
        raise MessageError(f"compressed image format '{text}' is not supported; use jpeg or png "
                           "(image_transport compressed) or compressedDepth png")
    return encoding, codec


def format_encoding(msg: Any) -> str:
    """The encoding an Image or CompressedImage carries ('' for a bare legacy 'jpeg'/'png')."""
    if not is_compressed(msg):
        return str(msg.encoding)
    try:
        return parse_format(str(msg.format))[0]
    except MessageError:
        return ""


def _payload_problem(payload: np.ndarray) -> str | None:
    """Why ``payload`` is no complete JPEG/PNG, judged from its first and last bytes.

    Checked before decoding so a cut-off frame (lost fragments, a bag cut at power loss) gives our
    one line, not libpng's own stderr text next to it.
    """
    head, tail = payload[:8].tobytes(), payload[-8:].tobytes()
    if head.startswith(JPEG_START):
        # some MJPEG cameras pad frames with zero bytes after the end-of-image marker
        padded_tail = payload[-64:].tobytes().rstrip(b"\x00")
        return None if padded_tail.endswith(JPEG_END) else "the JPEG is truncated (no end-of-image marker)"
    if head == PNG_SIGNATURE:
        return None if tail == PNG_END else "the PNG is truncated (no IEND chunk at its end)"
    return "the payload is neither a JPEG nor a PNG"


def _imdecode(payload: np.ndarray, text: str) -> np.ndarray:
    """OpenCV decode of a JPEG/PNG payload; anything undecodable -> one MessageError line."""
    problem = _payload_problem(payload)
    pixels = None if problem else cv2.imdecode(payload, cv2.IMREAD_UNCHANGED)
    if pixels is None or pixels.size == 0:
        raise MessageError(f"compressed image (format '{text}', {payload.size} bytes) cannot be decoded: "
                           f"{problem or 'corrupt image data'}; check the camera driver or the recording")
    return pixels


def compressed_to_array(msg: Any) -> np.ndarray:
    """(H, W) or (H, W, C) pixels as OpenCV decodes them (colour in BGR order)."""
    text = str(msg.format)
    if parse_format(text)[1] == "compressedDepth":
        raise MessageError(f"'{text}' is a compressedDepth image, not a colour or mask image")
    return _imdecode(np.frombuffer(msg.data, np.uint8), text)


def compressed_to_rgb(msg: Any) -> np.ndarray:
    """(H, W, 3) uint8 RGB of a jpeg/png CompressedImage (grey is repeated, alpha dropped)."""
    pixels = compressed_to_array(msg)
    if pixels.dtype != np.uint8:
        raise MessageError(f"compressed image '{msg.format}' holds {pixels.dtype} pixels, not 8-bit colour")
    if pixels.ndim == 2:
        return np.repeat(pixels[..., None], 3, axis=2)
    return cv2.cvtColor(pixels, cv2.COLOR_BGRA2RGB if pixels.shape[2] == 4 else cv2.COLOR_BGR2RGB)


def compressed_depth_to_metres(msg: Any) -> np.ndarray:
    """float32 metres with NaN invalid from compressedDepth (16UC1 mm or 32FC1 inverse) or 16-bit png."""
    text = str(msg.format)
    encoding, codec = parse_format(text)
    data = np.frombuffer(msg.data, np.uint8)
    if codec != "compressedDepth":  # a plain 16-bit png of millimetres
        pixels = _imdecode(data, text)
        if pixels.dtype != np.uint16 or pixels.ndim != 2:
            raise MessageError(f"compressed depth '{text}' decodes to {pixels.dtype} x{pixels.shape[2:] or 1}, "
                               "not one 16-bit channel")
        return millimetres_to_metres(pixels)
    if encoding not in ("16UC1", "32FC1", "mono16"):
        raise MessageError(f"compressedDepth encoding '{encoding}' (format '{text}') is not supported; "
                           "use 16UC1 or 32FC1")
    if data.size <= CONFIG_HEADER.size:
        raise MessageError(f"compressedDepth image (format '{text}') has {data.size} bytes, not its "
                           f"{CONFIG_HEADER.size}-byte header and a PNG; check the camera driver or the recording")
    _, quant_a, quant_b = CONFIG_HEADER.unpack(data[:CONFIG_HEADER.size].tobytes())
    pixels = _imdecode(data[CONFIG_HEADER.size:], text)
    if pixels.dtype != np.uint16 or pixels.ndim != 2:
        raise MessageError(f"compressedDepth image of '{text}' is {pixels.dtype}, not one 16-bit channel")
    if encoding != "32FC1":
        return millimetres_to_metres(pixels)
    with np.errstate(divide="ignore"):
        depth = np.float32(quant_a) / (pixels.astype(np.float32) - np.float32(quant_b))
    depth[pixels == 0] = np.nan
    return depth


def decode_rgb(msg: Any) -> np.ndarray:
    """(H, W, 3) uint8 RGB of an Image (any colour encoding) or a CompressedImage."""
    return compressed_to_rgb(msg) if is_compressed(msg) else image_to_rgb(msg)


def decode_depth_metres(msg: Any) -> np.ndarray:
    """float32 metres, NaN invalid, of a depth Image or a compressedDepth / 16-bit png CompressedImage."""
    return compressed_depth_to_metres(msg) if is_compressed(msg) else image_to_depth_metres(msg)


def decode_array(msg: Any) -> np.ndarray:
    """Pixels of an Image or a jpeg/png CompressedImage (masks, planes)."""
    return compressed_to_array(msg) if is_compressed(msg) else image_to_array(msg)


# ----------------------------------------------------------------------------------------------
# encoding (tests, benchmarks and bag writers; what a camera driver's image_transport would send)


def _imencode(pixels: np.ndarray, codec: str, quality: int) -> np.ndarray:
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if codec == "jpeg" else [cv2.IMWRITE_PNG_COMPRESSION, 1]
    ok, payload = cv2.imencode(".jpg" if codec == "jpeg" else ".png", pixels, params)
    if not ok:
        raise MessageError(f"OpenCV cannot encode a {pixels.dtype} array of shape {pixels.shape} as {codec}")
    return payload.reshape(-1)


def array_to_compressed(pixels: np.ndarray, encoding: str, codec: str, header: Any, msg_type: type,
                        quality: int = 95) -> Any:
    """CompressedImage of ``pixels`` laid out as ``encoding`` (rgb8/bgr8/mono8/16UC1), as image_transport writes it."""
    if codec not in CODECS:
        raise MessageError(f"codec '{codec}' is not one of {', '.join(CODECS)}")
    pixels = np.ascontiguousarray(pixels)
    if encoding.startswith("rgb"):
        pixels = cv2.cvtColor(pixels, cv2.COLOR_RGBA2BGRA if pixels.shape[2] == 4 else cv2.COLOR_RGB2BGR)
    target = " bgr8" if encoding in ("rgb8", "bgr8", "rgba8", "bgra8") else ""
    payload = _imencode(pixels, codec, quality)
    return message_with_data(msg_type, payload, header=header, format=f"{encoding}; {codec} compressed{target}")


def depth_to_compressed_depth(depth_m: np.ndarray, encoding: str, header: Any, msg_type: type,
                              depth_max: float = DEPTH_MAX_M, quantization: float = DEPTH_QUANTIZATION) -> Any:
    """compressedDepth png CompressedImage of metric depth, stored as 16UC1 mm or 32FC1 inverse depth."""
    depth = np.asarray(depth_m, np.float32)
    if encoding == "16UC1":
        pixels, quant_a, quant_b = metres_to_millimetres(depth), 0.0, 0.0
        pixels[pixels > depth_max * MILLIMETRES_PER_METRE] = 0  # upstream drops what lies beyond depth_max here too
    elif encoding == "32FC1":
        quant_a = np.float32(quantization * (quantization + 1.0))
        quant_b = np.float32(1.0 - quant_a / np.float32(depth_max))
        with np.errstate(divide="ignore", invalid="ignore"):
            # NaN compares False; 0 would be A/0 (undefined upstream): both stored as invalid
            stored = (depth > 0) & (depth < depth_max)
            inverse = np.where(stored, quant_a / depth + quant_b, 0)
        pixels = np.clip(inverse, 0, np.iinfo(np.uint16).max).astype(np.uint16)  # truncation, as upstream
    else:
        raise MessageError(f"compressedDepth stores 16UC1 or 32FC1, not '{encoding}'")
    header_bytes = np.frombuffer(CONFIG_HEADER.pack(INV_DEPTH, quant_a, quant_b), np.uint8)
    payload = np.concatenate([header_bytes, _imencode(pixels, "png", 0)])
    return message_with_data(msg_type, payload, header=header, format=f"{encoding}; compressedDepth png")

"""sensor_msgs Image / CameraInfo <-> numpy, without rclpy (what cv_bridge would give).

Works on rclpy messages and on ``rosbags`` messages alike: reading goes by attribute names, and
writing takes the message class to build (``sensor_msgs.msg.Image`` or a rosbags typestore class).
Reading is zero-copy where the layout allows (a view into ``msg.data``).
"""
from __future__ import annotations

import array
from dataclasses import is_dataclass
from typing import Any, NamedTuple

import numpy as np

from modot_ros.depth_units import millimetres_to_metres
from modot_ros.geometry import CameraIntrinsics, resize_affine


class MessageError(ValueError):
    """A message that cannot be converted; the text names the field and its value."""


class Encoding(NamedTuple):
    dtype: np.dtype
    channels: int


ENCODINGS: dict[str, Encoding] = {
    "rgb8": Encoding(np.dtype(np.uint8), 3),
    "bgr8": Encoding(np.dtype(np.uint8), 3),
    "rgba8": Encoding(np.dtype(np.uint8), 4),
    "bgra8": Encoding(np.dtype(np.uint8), 4),
    "mono8": Encoding(np.dtype(np.uint8), 1),
    "8UC1": Encoding(np.dtype(np.uint8), 1),
    "mono16": Encoding(np.dtype(np.uint16), 1),
    "16UC1": Encoding(np.dtype(np.uint16), 1),
    "32FC1": Encoding(np.dtype(np.float32), 1),
}
COLOUR_ENCODINGS = ("rgb8", "bgr8", "rgba8", "bgra8", "mono8", "8UC1")
DEPTH_ENCODINGS = ("32FC1", "16UC1", "mono16")


def _encoding(name: str) -> Encoding:
    try:
        return ENCODINGS[name]
    except KeyError:
        raise MessageError(
            f"image encoding '{name}' is not supported; use one of {', '.join(ENCODINGS)}"
        ) from None


def image_to_array(msg: Any) -> np.ndarray:
    """(H, W) or (H, W, C) array of the image, a read-only view of ``msg.data`` when possible."""
    encoding = _encoding(msg.encoding)
    height, width = int(msg.height), int(msg.width)
    if height <= 0 or width <= 0:
        raise MessageError(f"image has zero size: height={height}, width={width}")
    row_bytes = width * encoding.channels * encoding.dtype.itemsize
    step = int(msg.step)
    if step < row_bytes:
        raise MessageError(
            f"image step={step} is smaller than width*bytes_per_pixel={row_bytes} for {msg.encoding}"
        )
    data = np.frombuffer(msg.data, dtype=np.uint8)
    if data.size < step * height:
        raise MessageError(f"image data has {data.size} bytes, step*height needs {step * height}")
    rows = data[: step * height].reshape(height, step)[:, :row_bytes]
    dtype = encoding.dtype.newbyteorder(">" if msg.is_bigendian else "<")
    if rows.flags.c_contiguous:
        pixels = rows.view(dtype)
    else:  # padded rows: one copy, since a strided view cannot change the dtype
        pixels = np.ascontiguousarray(rows).view(dtype)
    if not dtype.isnative:
        pixels = pixels.astype(dtype.newbyteorder("="))
    shape = (height, width, encoding.channels) if encoding.channels > 1 else (height, width)
    return pixels.reshape(shape)


def _require_encoding(msg: Any, allowed: tuple[str, ...], problem: str) -> None:
    if msg.encoding not in allowed:
        raise MessageError(f"{problem.format(encoding=msg.encoding)}; use one of {', '.join(allowed)}")


def image_to_rgb(msg: Any) -> np.ndarray:
    """(H, W, 3) uint8 RGB from any colour encoding (a view for rgb8)."""
    _require_encoding(msg, COLOUR_ENCODINGS, "image encoding '{encoding}' is not a colour encoding")
    pixels = image_to_array(msg)
    if pixels.ndim == 2:
        return np.repeat(pixels[..., None], 3, axis=2)
    if msg.encoding.startswith("bgr"):
        return pixels[..., 2::-1]
    return pixels[..., :3]


def image_to_depth_metres(msg: Any) -> np.ndarray:
    """float32 metres with NaN invalid, from 32FC1 (metres) or 16UC1/mono16 (millimetres)."""
    _require_encoding(msg, DEPTH_ENCODINGS, "depth encoding '{encoding}' is not supported")
    pixels = image_to_array(msg)
    if msg.encoding == "32FC1":
        return pixels.astype(np.float32, copy=False)
    return millimetres_to_metres(pixels)


def message_with_data(message_type: type, flat: np.ndarray, **fields: Any) -> Any:
    """``message_type(**fields)`` whose ``uint8[]`` field ``data`` holds ``flat``'s bytes.

    rosbags classes take the numpy array as it is. rclpy's generated constructor copies a ``data``
    argument (``array.array('B', data)``) and hands the copy to its setter, which copies it again
    unless the message checks its fields: a 9.8 MB 640x480 cloud was copied three times, 43 % of
    the node's output thread under load (docs/benchmarks.md). So the payload is copied once into an
    ``array.array`` and assigned to a message built with ``check_fields`` (Jazzy and later), whose
    setter keeps the array as it is.
    """
    if is_dataclass(message_type):
        return message_type(data=flat, **fields)
    checks = "_check_fields" in getattr(message_type, "__slots__", ())
    msg = message_type(check_fields=True, **fields) if checks else message_type(**fields)
    payload = array.array("B")
    payload.frombytes(flat.data)
    msg.data = payload
    return msg


def array_to_image(pixels: np.ndarray, encoding: str, header: Any, image_type: type) -> Any:
    """Build an Image message of ``image_type`` from an array laid out as ``encoding``."""
    spec = _encoding(encoding)
    pixels = np.asarray(pixels)
    expected_ndim = 2 if spec.channels == 1 else 3
    if pixels.ndim != expected_ndim or (spec.channels > 1 and pixels.shape[2] != spec.channels):
        raise MessageError(f"array of shape {pixels.shape} cannot be encoded as {encoding}")
    if pixels.shape[0] == 0 or pixels.shape[1] == 0:
        raise MessageError(f"array of shape {pixels.shape} has zero size")
    pixels = np.ascontiguousarray(pixels, dtype=spec.dtype.newbyteorder("<"))
    height, width = pixels.shape[:2]
    return message_with_data(image_type, pixels.reshape(-1).view(np.uint8), header=header, height=height,
                             width=width, encoding=encoding, is_bigendian=0,
                             step=width * spec.channels * spec.dtype.itemsize)


# ----------------------------------------------------------------------------------------------
# CameraInfo


def _pixel_affine(info: Any, width: int | None = None, height: int | None = None) -> np.ndarray:
    """3x3 map from full-sensor pixels (what K and P describe) to pixels of the published image.

    The map is roi crop, then binning, then (optionally) resize to ``width`` x ``height``.
    """
    affine = np.eye(3)
    roi = info.roi
    if int(roi.width) > 0 and int(roi.height) > 0:
        affine[:2, 2] -= (float(roi.x_offset), float(roi.y_offset))
    image_w, image_h = published_size(info)
    binned_w = int(roi.width) if int(roi.width) > 0 else int(info.width)
    binned_h = int(roi.height) if int(roi.height) > 0 else int(info.height)
    sx, sy = image_w / binned_w, image_h / binned_h
    if width is not None:
        sx, sy = sx * width / image_w, sy * height / image_h
    return resize_affine(sx, sy) @ affine


def published_size(info: Any) -> tuple[int, int]:
    """(width, height) of the images that go with ``info`` (after roi and binning)."""
    width, height = int(info.width), int(info.height)
    if int(info.roi.width) > 0 and int(info.roi.height) > 0:
        width, height = int(info.roi.width), int(info.roi.height)
    return width // max(1, int(info.binning_x)), height // max(1, int(info.binning_y))


def camera_info_to_intrinsics(info: Any) -> CameraIntrinsics:
    """Intrinsics of the published image: P (rectified) when set, else K; roi and binning applied."""
    if int(info.width) <= 0 or int(info.height) <= 0:
        raise MessageError(f"camera_info has zero size: width={info.width}, height={info.height}")
    for name in ("k", "p"):  # both are republished, so a NaN in the unused one must not pass either
        values = np.asarray(getattr(info, name), dtype=np.float64)
        if not np.all(np.isfinite(values)):
            raise MessageError(
                f"camera_info has invalid intrinsics {name}={[float(v) for v in values]}: {name.upper()} "
                "must be finite (NaN or inf found); fix the camera calibration")
    projection = np.asarray(info.p, dtype=np.float64).reshape(3, 4)[:, :3]
    if not projection[0, 0]:
        projection = np.asarray(info.k, dtype=np.float64).reshape(3, 3)
    if not np.all(np.isfinite(projection)) or projection[0, 0] <= 0 or projection[1, 1] <= 0:
        raise MessageError(
            f"camera_info has invalid intrinsics k={[float(v) for v in info.k]}: "
            "focal lengths must be finite and > 0"
        )
    width, height = published_size(info)
    return CameraIntrinsics.from_matrix(_pixel_affine(info) @ projection, width, height)


def check_image_matches_info(image: Any, info: Any) -> None:
    """Raise MessageError when the image size is not the one camera_info describes."""
    check_size_matches_info(int(image.width), int(image.height), info)


def check_size_matches_info(width: int, height: int, info: Any) -> None:
    """Raise MessageError when ``width`` x ``height`` (e.g. of a decoded compressed image) is not camera_info's."""
    expected = published_size(info)
    if (width, height) != expected:
        raise MessageError(
            f"camera_info describes {expected[0]}x{expected[1]} images but the image is {width}x{height}"
        )


def scale_camera_info(info: Any, width: int, height: int, info_type: type) -> Any:
    """CameraInfo for the image of ``info`` resized to ``width`` x ``height`` (roi/binning folded in).

    K and P get the same pixel map the image got, so projecting with the new info lands on the
    resized pixels exactly (see modot_ros.geometry for the pixel-centre convention).
    """
    affine = _pixel_affine(info, width, height)
    k = affine @ np.asarray(info.k, dtype=np.float64).reshape(3, 3)
    p = affine @ np.asarray(info.p, dtype=np.float64).reshape(3, 4)
    fields = dict(
        header=info.header,
        height=int(height),
        width=int(width),
        distortion_model=info.distortion_model,
        d=np.asarray(info.d, dtype=np.float64),
        k=k.reshape(-1),
        r=np.asarray(info.r, dtype=np.float64),
        p=p.reshape(-1),
        binning_x=0,
        binning_y=0,
        roi=type(info.roi)(
            x_offset=0, y_offset=0, height=0, width=0, do_rectify=bool(info.roi.do_rectify)
        ),
    )
    if not is_dataclass(info_type):  # rclpy wants plain sequences for fixed-size arrays
        fields.update({key: fields[key].tolist() for key in ("d", "k", "r", "p")})
    return info_type(**fields)


def intrinsics_to_camera_info(intr: CameraIntrinsics, header: Any, info_type: type, roi_type: type) -> Any:
    """A CameraInfo (plumb_bob, no distortion, identity R) describing ``intr``."""
    k = intr.matrix()
    p = np.hstack([k, np.zeros((3, 1))])
    fields = dict(
        header=header,
        height=intr.height,
        width=intr.width,
        distortion_model="plumb_bob",
        d=np.zeros(5),
        k=k.reshape(-1),
        r=np.eye(3).reshape(-1),
        p=p.reshape(-1),
        binning_x=0,
        binning_y=0,
        roi=roi_type(x_offset=0, y_offset=0, height=0, width=0, do_rectify=False),
    )
    if not is_dataclass(info_type):
        fields.update({key: fields[key].tolist() for key in ("d", "k", "r", "p")})
    return info_type(**fields)

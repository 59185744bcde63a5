"""rosbag2 reading and writing without a ROS install (``rosbags``: mcap and sqlite3).

Reading: ``open_bag`` picks the typestore from the bag's ``ros_distro`` (types stored in the bag
win anyway), ``select_topics`` finds the image / camera_info / ground-truth topics (explicit
names, or auto-detection when unambiguous), ``iter_frames`` yields frames matched by
``header.stamp`` (ros_anchors.md §5.1: bag time is receive time, evaluate by stamp).
Writing: ``BagWriter`` takes typestore messages or raw CDR bytes.
Every problem with the bag raises ``BagError`` with one line naming it.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import yaml
from rosbags.highlevel import AnyReader, AnyReaderError
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

from modot_ros.geometry import CameraIntrinsics
from modot_ros.pipeline.compressed import (COMPRESSED_IMAGE, decode_array, decode_depth_metres, decode_rgb,
                                           format_encoding)
from modot_ros.pipeline.messages import (COLOUR_ENCODINGS, DEPTH_ENCODINGS, MessageError,
                                         camera_info_to_intrinsics, check_size_matches_info)
from modot_ros.pipeline.stamp_sync import stamp_ns

IMAGE = "sensor_msgs/msg/Image"
CAMERA_INFO = "sensor_msgs/msg/CameraInfo"
IMAGE_TYPES = (IMAGE, COMPRESSED_IMAGE)
DISTROS = {"foxy": Stores.ROS2_FOXY, "galactic": Stores.ROS2_GALACTIC, "humble": Stores.ROS2_HUMBLE,
           "iron": Stores.ROS2_IRON, "jazzy": Stores.ROS2_JAZZY, "kilted": Stores.ROS2_KILTED,
           "lyrical": Stores.ROS2_LYRICAL}
GT_HINTS = ("ground_truth", "groundtruth", "/gt", "gt_", "_gt")
# depth cameras record raw and colour-registered depth; only the registered one is pixel-aligned
REGISTERED_HINTS = ("aligned_depth", "registered")
BOUNDARY_HINTS = ("occlusion", "boundar", "edge")


class BagError(ValueError):
    """A bag that cannot be evaluated as asked; the text names the bag, topic or frame."""


@dataclass(frozen=True)
class TopicSelection:
    """Topics used from a bag; ``None`` = not used (camera_info: intrinsics given instead)."""

    image: str
    camera_info: str | None
    gt_depth: str | None = None
    gt_boundary: str | None = None

    def roles(self) -> dict[str, str]:
        """role -> topic for the topics in use."""
        named = {"image": self.image, "camera_info": self.camera_info,
                 "gt_depth": self.gt_depth, "gt_boundary": self.gt_boundary}
        return {role: topic for role, topic in named.items() if topic}


@dataclass
class Frame:
    """One image with its intrinsics and (optional) ground truth, in metres / bool."""

    index: int
    stamp_ns: int
    bag_time_ns: int
    image_msg: Any
    info_msg: Any | None
    rgb: np.ndarray
    intrinsics: CameraIntrinsics
    gt_depth: np.ndarray | None = None
    gt_boundary: np.ndarray | None = None


def bag_distro(path: Path) -> str | None:
    """``ros_distro`` recorded in metadata.yaml (rosbag2 ≥ Iron writes it), else None."""
    meta = path / "metadata.yaml" if path.is_dir() else path.parent / "metadata.yaml"
    if not meta.is_file():
        return None
    with contextlib.suppress(yaml.YAMLError, AttributeError, TypeError):
        info = yaml.safe_load(meta.read_text()).get("rosbag2_bagfile_information", {})
        return str(info.get("ros_distro") or "") or None
    return None


def typestore_for(path: Path, distro: str | None = None):
    """Typestore of ``distro`` (or the bag's), Jazzy when unknown; types stored in the bag win."""
    name = (distro or bag_distro(path) or "jazzy").lower()
    return get_typestore(DISTROS.get(name, Stores.ROS2_JAZZY))


@contextlib.contextmanager
def open_bag(path: str | Path, distro: str | None = None) -> Iterator[AnyReader]:
    """Open a rosbag2 folder (or a single .mcap/.db3 file) for reading; errors -> BagError."""
    path = Path(path)
    if not path.exists():
        raise BagError(f"bag {path} does not exist")
    try:
        reader = AnyReader([path], default_typestore=typestore_for(path, distro))
        reader.open()
    except (AnyReaderError, OSError, ValueError, KeyError) as error:
        raise BagError(f"bag {path} cannot be opened (truncated or corrupt?): {error}") from None
    try:
        yield reader
    finally:
        reader.close()


def _first_encoding(reader: AnyReader, connection) -> str | None:
    """Encoding of the topic's first message (a CompressedImage's from its format; '' = bare jpeg)."""
    for con, _, raw in reader.messages(connections=[connection]):
        return format_encoding(reader.deserialize(raw, con.msgtype))
    return None


def _topics_of(reader: AnyReader, *msgtypes: str) -> list:
    return sorted({c.topic: c for c in reader.connections if c.msgtype in msgtypes and c.msgcount}.values(),
                  key=lambda c: c.topic)


def _prefer_raw(candidates: list[str]) -> list[str]:
    """Drop ``X/compressed`` and ``X/compressedDepth`` when ``X`` itself is a candidate (one stream, twice)."""
    return [c for c in candidates if c.rsplit("/", 1)[0] not in candidates
            or c.rsplit("/", 1)[-1] not in ("compressed", "compressedDepth")]


def _pick(candidates: list[str], what: str, flag: str, hints: tuple[str, ...] = ()) -> str | None:
    """The one candidate, or the one matching a hint; several -> BagError naming them and the flag."""
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    hinted = [c for c in candidates if any(h in c.lower() for h in hints)]
    if len(hinted) == 1:
        return hinted[0]
    raise BagError(f"several {what} topics ({', '.join(candidates)}); choose one with {flag}")


def _require(topic: str, available: dict[str, str], msgtypes: tuple[str, ...], flag: str) -> str:
    if topic not in available:
        raise BagError(f"topic {topic} ({flag}) is not in the bag; it has: {', '.join(sorted(available)) or 'nothing'}")
    if available[topic] not in msgtypes:
        raise BagError(f"topic {topic} ({flag}) is {available[topic]}, expected {' or '.join(msgtypes)}")
    return topic


def select_topics(reader: AnyReader, image: str | None = None, camera_info: str | None = None,
                  gt_depth: str | None = None, gt_boundary: str | None = None,
                  use_gt: bool = True, need_info: bool = True) -> TopicSelection:
    """Resolve the topics to evaluate: given names are checked, missing ones auto-detected.

    Image and CompressedImage topics are classified by the encoding of their first message:
    colour (or a bare 'jpeg') -> input, 32FC1/16UC1 (compressedDepth too) -> ground-truth depth,
    mono8 named like occlusion/boundary -> ground-truth OB. A raw topic wins over its compressed twin.
    """
    available = {c.topic: c.msgtype for c in reader.connections}
    encodings = {c.topic: _first_encoding(reader, c) for c in _topics_of(reader, *IMAGE_TYPES)}
    if image:
        _require(image, available, IMAGE_TYPES, "--image")
    else:
        colour = [t for t, e in encodings.items() if e in (*COLOUR_ENCODINGS, "") and e not in ("mono8", "8UC1")]
        colour = colour or [t for t, e in encodings.items() if e in ("mono8", "8UC1")
                            and not any(h in t.lower() for h in BOUNDARY_HINTS)]
        image = _pick(_prefer_raw(colour), "colour image", "--image", ("image_raw", "image_rect", "color"))
        if image is None:
            raise BagError(f"bag has no colour image topic ({', '.join(COLOUR_ENCODINGS)}); "
                           f"image topics: {encodings or 'none'}")
    if camera_info:
        _require(camera_info, available, CAMERA_INFO, "--camera-info")
    elif need_info:
        infos = [c.topic for c in _topics_of(reader, CAMERA_INFO)]
        sibling = image.rsplit("/", 1)[0] + "/camera_info"
        camera_info = sibling if sibling in infos else _pick(infos, "camera_info", "--camera-info")
        if camera_info is None:
            raise BagError("bag has no sensor_msgs/msg/CameraInfo topic; record camera_info or "
                           "pass --intrinsics FX FY CX CY")
    for topic, flag in ((gt_depth, "--gt-depth"), (gt_boundary, "--gt-boundary")):
        if topic:
            _require(topic, available, IMAGE_TYPES, flag)
    if use_gt and not gt_depth:
        depth = [t for t, e in encodings.items() if e in DEPTH_ENCODINGS]
        gt_depth = _pick(_prefer_raw(depth), "depth image", "--gt-depth (or --no-gt)", GT_HINTS + REGISTERED_HINTS)
    if use_gt and not gt_boundary:
        masks = [t for t, e in encodings.items() if e in ("mono8", "8UC1") and t != image
                 and any(h in t.lower() for h in BOUNDARY_HINTS)]
        gt_boundary = _pick(_prefer_raw(masks), "boundary mask", "--gt-boundary (or --no-gt)", GT_HINTS)
    return TopicSelection(image, camera_info, gt_depth, gt_boundary)


def iter_groups(reader: AnyReader, roles: dict[str, str], required: tuple[str, ...],
                window: int = 32) -> Iterator[tuple[int, dict[str, tuple[Any, int]]]]:
    """Group messages of ``roles`` (role -> topic) by header.stamp, in bag order.

    Groups come out in stamp order: when all ``required`` roles of a group arrived, it and every
    older pending group are yielded (with what they have); so are groups with ``window`` newer
    stamps pending. Values: (msg, bag time ns).
    Reading errors (truncation, corrupt data) -> BagError after the groups read so far.
    """
    by_topic = {}
    for role, topic in roles.items():
        by_topic.setdefault(topic, []).append(role)
    connections = [c for c in reader.connections if c.topic in by_topic]
    pending: dict[int, dict[str, tuple[Any, int]]] = {}
    try:
        for con, t_ns, raw in reader.messages(connections=connections):
            msg = reader.deserialize(raw, con.msgtype)
            group = pending.setdefault(stamp_ns(msg.header), {})
            for role in by_topic[con.topic]:
                group[role] = (msg, t_ns)
            ready = [s for s, g in pending.items() if all(r in g for r in required)]
            stamps = sorted(pending)
            # yield in stamp order: a complete group releases the older, incomplete ones too
            stale = stamps[-window - 1] if len(stamps) > window else stamps[0] - 1
            cutoff = max(max(ready, default=stale), stale)
            for stamp in stamps:
                if stamp > cutoff:
                    break
                yield stamp, pending.pop(stamp)
    except BagError:
        raise
    except Exception as error:  # rosbags raises many types for damaged files
        raise BagError(f"bag is truncated or corrupt: {type(error).__name__}: {error}") from None
    for stamp in sorted(pending):
        yield stamp, pending.pop(stamp)


def _gt_array(msg: Any, topic: str, shape: tuple[int, int], boundary: bool) -> np.ndarray:
    array = decode_array(msg) > 0 if boundary else decode_depth_metres(msg)
    if array.shape[:2] != shape:
        raise BagError(f"ground truth on {topic} is {array.shape[1]}x{array.shape[0]} but the image is "
                       f"{shape[1]}x{shape[0]} (stamp {stamp_ns(msg.header)}); they must be pixel-aligned")
    return array


def iter_frames(reader: AnyReader, topics: TopicSelection,
                intrinsics: tuple[float, float, float, float] | None = None,
                keep: Callable[[int], bool] | None = None) -> Iterator[Frame]:
    """Frames of the bag matched by stamp; camera_info falls back to the latest one received.

    intrinsics: (fx, fy, cx, cy) in image pixels, used when ``topics.camera_info`` is None.
    keep: frame index -> whether to decode and yield it (thinning a long recording decodes only
    the frames it keeps; indices still count every image).

    Unsupported encodings, size mismatches and missing camera_info raise BagError at the frame
    concerned, so callers keep the frames before it.
    """
    roles = topics.roles()
    latest_info = None
    index = 0
    for stamp, group in iter_groups(reader, roles, tuple(roles)):
        latest_info = group["camera_info"][0] if "camera_info" in group else latest_info
        if "image" not in group:
            continue
        msg, t_ns = group["image"]
        info = group["camera_info"][0] if "camera_info" in group else latest_info
        if keep is not None and not keep(index):
            index += 1
            continue
        try:
            rgb = decode_rgb(msg)
            if topics.camera_info:
                if info is None:
                    raise BagError(f"no camera_info on {topics.camera_info} at or before image stamp {stamp}")
                check_size_matches_info(rgb.shape[1], rgb.shape[0], info)
                intr = camera_info_to_intrinsics(info)
            else:
                intr = CameraIntrinsics(*intrinsics, width=rgb.shape[1], height=rgb.shape[0])
            gt = {role: _gt_array(group[role][0], roles[role], rgb.shape[:2], role == "gt_boundary")
                  if role in group else None for role in ("gt_depth", "gt_boundary")}
        except MessageError as error:
            raise BagError(f"frame {index} (stamp {stamp}): {error}") from None
        yield Frame(index, stamp, t_ns, msg, info, rgb, intr, gt["gt_depth"], gt["gt_boundary"])
        index += 1


class BagWriter:
    """Write a rosbag2 (version 8, mcap or sqlite3) that Humble and Jazzy ``ros2 bag play``."""

    def __init__(self, path: str | Path, storage: str = "mcap", typestore=None) -> None:
        plugins = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}
        if storage not in plugins:
            raise BagError(f"storage {storage!r} not supported; use mcap or sqlite3")
        self.path = Path(path)
        if self.path.exists():
            raise BagError(f"output bag {self.path} already exists; remove it or choose another path")
        self.typestore = typestore or get_typestore(Stores.ROS2_JAZZY)
        self._writer = Writer(self.path, version=8, storage_plugin=plugins[storage])
        self._writer.open()
        self._connections: dict[str, Any] = {}

    def _connection(self, topic: str, msgtype: str):
        if topic not in self._connections:
            self._connections[topic] = self._writer.add_connection(topic, msgtype, typestore=self.typestore)
        return self._connections[topic]

    def write(self, topic: str, msg: Any, t_ns: int) -> None:
        """Serialize a typestore message and store it at bag time ``t_ns``."""
        msgtype = msg.__msgtype__
        self._writer.write(self._connection(topic, msgtype), t_ns, self.typestore.serialize_cdr(msg, msgtype))

    def write_raw(self, topic: str, msgtype: str, raw: bytes, t_ns: int) -> None:
        """Store CDR bytes as received (e.g. from an rclpy raw subscription)."""
        self._writer.write(self._connection(topic, msgtype), t_ns, raw)

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> "BagWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

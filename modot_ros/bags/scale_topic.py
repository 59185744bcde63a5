"""A bag's recorded scale source, paired with each image by stamp (``modot-eval-bag --scale-topic``).

``RecordedScaleTopic(bag, topic, kind, max_age_s)`` reads one topic of the bag (sparse depth, a
LaserScan or a Range) with a reader of its own, in bag order, a window at a time, so a long bag
of depth images is never all in memory. ``measurement(image_stamp_ns, camera_frame)`` gives the
message whose header stamp is nearest the image's within ``max_age_s`` (the node's
``scale_max_age``) as the engine's measurement, or None: the engine then holds the last scale and
falls back to the model's, as the node does when its source is silent. A LaserScan takes its pose
from the bag's /tf + /tf_static where they connect its frame to the image's (``tf_tree``; the
image frame taken as the optical frame), else from ``laser_extrinsic``.

Images arrive in stamp order (``io.iter_frames``); the look-ahead stops at the first message
stamped later than the image + ``max_age_s``, as sensors stamp in order along a recording.
"""
from __future__ import annotations

import sys
from collections import deque
from pathlib import Path
from typing import Any, Callable, Iterator

from modot_ros.bags.io import BagError, _require, open_bag
from modot_ros.bags.tf_tree import TF_MESSAGE, TfError, TransformTree, read_tf
from modot_ros.pipeline.messages import MessageError
from modot_ros.pipeline.stamp_sync import stamp_ns
from modot_ros.scale.measurements import MESSAGE_TYPES, measurement_from_message


def _stderr(text: str) -> None:
    print(text, file=sys.stderr)


class RecordedScaleTopic:
    """See the module docstring; problems with the bag or topic raise ``BagError`` at construction."""

    def __init__(self, bag: str | Path, topic: str, kind: str, max_age_s: float, distro: str | None = None,
                 say: Callable[[str], None] = _stderr) -> None:
        if kind not in MESSAGE_TYPES:
            raise ValueError(f"--scale-topic needs --scale-source {', '.join(MESSAGE_TYPES)}, not {kind}")
        self.path, self.topic, self.kind, self.distro = Path(bag), topic, kind, distro
        self.tolerance_ns, self.say, self.said = int(round(max_age_s * 1e9)), say, set()
        self.tf: TransformTree | None = None
        try:
            with open_bag(self.path, distro) as reader:
                _require(topic, {c.topic: c.msgtype for c in reader.connections}, MESSAGE_TYPES[kind],
                         f"--scale-topic, --scale-source {kind}")
                if kind == "laser_scan" and any(c.msgtype == TF_MESSAGE for c in reader.connections):
                    self.tf = read_tf(reader)
        except BagError as error:
            raise BagError(f"--scale-topic {topic}: {error}") from None
        self._stream = self._messages()
        self._window: deque[tuple[int, Any]] = deque()
        self._ended = False

    def _messages(self) -> Iterator[tuple[int, Any]]:
        """(header stamp ns, message) of the topic in bag order; the reader closes with the generator."""
        with open_bag(self.path, self.distro) as reader:
            connections = [c for c in reader.connections if c.topic == self.topic]
            try:
                for con, _, raw in reader.messages(connections=connections):
                    msg = reader.deserialize(raw, con.msgtype)
                    yield stamp_ns(msg.header), msg
            except Exception as error:  # rosbags raises many types for damaged files
                raise BagError(f"--scale-topic {self.topic}: bag is truncated or corrupt: "
                               f"{type(error).__name__}: {error}") from None

    def _tell_once(self, key: str, text: str) -> None:
        if key not in self.said:
            self.said.add(key)
            self.say(f"scale topic {self.topic} ({self.kind}): {text}")

    def measurement(self, image_stamp_ns: int, camera_frame: str = "") -> Any:
        """The measurement nearest ``image_stamp_ns`` within the tolerance, else None (silent)."""
        while not self._ended and (not self._window or self._window[-1][0] <= image_stamp_ns + self.tolerance_ns):
            following = next(self._stream, None)
            if following is None:
                self._ended = True
            else:
                self._window.append(following)
        while self._window and self._window[0][0] < image_stamp_ns - self.tolerance_ns:
            self._window.popleft()  # later images are later still
        near = [(abs(stamp - image_stamp_ns), stamp, msg) for stamp, msg in self._window
                if abs(stamp - image_stamp_ns) <= self.tolerance_ns]
        if not near:
            if self._window:  # messages there, stamped elsewhere: a clock offset shows here first
                gap = min(abs(stamp - image_stamp_ns) for stamp, _ in self._window) / 1e9
                self._tell_once("gap", f"no message within --scale-max-age {self.tolerance_ns / 1e9:g} s of image "
                                f"stamp {image_stamp_ns} (nearest {gap:.3f} s away); such frames count as silent")
            return None
        _, stamp, msg = min(near, key=lambda item: item[:2])
        try:
            measurement = measurement_from_message(self.kind, msg)
        except MessageError as error:
            self._tell_once(f"bad:{error}", f"{error} (stamp {stamp}); message ignored, the frame counts as silent")
            return None
        return self._with_tf_pose(measurement, stamp, camera_frame) if self.kind == "laser_scan" else measurement

    def _with_tf_pose(self, scan: Any, stamp: int, camera_frame: str) -> Any:
        """The scan with the bag's tf pose of its frame in the image's, where the bag has it."""
        if self.tf is None:
            self._tell_once("tf", "the bag has no /tf or /tf_static; the lidar pose comes from --laser-extrinsic")
            return scan
        try:
            pose = self.tf.lookup(camera_frame, scan.frame_id, stamp)
        except TfError as error:
            self._tell_once("tf", f"{error}; the lidar pose comes from --laser-extrinsic")
            return scan
        return scan._replace(T_optical_laser=pose)

    def close(self) -> None:
        self._stream.close()

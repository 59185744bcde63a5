"""Pair images with camera_info by stamp (what message_filters would do), without rclpy.

Modes: ``exact`` (equal stamps, image_transport CameraSubscriber semantics), ``approx`` (nearest
stamp within ``slop`` seconds), ``cache`` (latest camera_info whatever its stamp). Queues are
bounded; an image that leaves its queue unmatched is counted and reported, so a missing or
unsynchronised camera_info is visible instead of silent.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any

SYNC_MODES = ("exact", "approx", "cache")


def stamp_ns(header: Any) -> int:
    """header.stamp as integer nanoseconds (the key that matches messages of one frame)."""
    return int(header.stamp.sec) * 1_000_000_000 + int(header.stamp.nanosec)


# Latencies beyond this come from clocks that disagree (wall vs sim time), not from the pipeline.
MAX_PLAUSIBLE_LATENCY_S = 60.0


def frame_latency(now_ns: int, stamp: int) -> tuple[float | None, str | None, str | None]:
    """(latency ms, None, None), or (None, kind, why it is not measured) when the stamp cannot give one.

    kind: ``zero`` (unstamped images), ``ahead`` (stamp in the node's future), ``behind`` (stamp
    older than MAX_PLAUSIBLE_LATENCY_S): each a property of the source, worth one warning.
    """
    latency_s = (now_ns - stamp) / 1e9
    if stamp == 0:
        return None, "zero", ("image header.stamp is 0: the publisher does not stamp its images; latency "
                              "is not measured and camera_info is paired by stamp 0; stamp the images "
                              "in the camera driver")
    if latency_s < 0:
        return None, "ahead", (f"image stamp is {-latency_s:.3f} s ahead of the node clock; latency is "
                               "not measured; synchronise the clocks (chrony) or use use_sim_time on "
                               "both sides")
    if latency_s > MAX_PLAUSIBLE_LATENCY_S:
        return None, "behind", (f"image stamp is {latency_s:.0f} s behind the node clock; latency is not "
                                "measured; replaying a bag? use ros2 bag play --clock and "
                                "use_sim_time:=true")
    return latency_s * 1e3, None, None


class StampSync:
    """Feed ``add_image`` / ``add_info`` with integer nanosecond stamps.

    Each returns the matched (image, info) pairs it completed. ``unmatched_images`` counts images
    given up on.
    """

    def __init__(self, mode: str = "exact", slop: float = 0.02, queue_size: int = 10) -> None:
        if mode not in SYNC_MODES:
            raise ValueError(f"sync mode {mode!r}; allowed: {', '.join(SYNC_MODES)}")
        if queue_size < 1:
            raise ValueError(f"queue_size must be >= 1, got {queue_size}")
        self.mode, self.slop_ns, self.queue_size = mode, int(slop * 1e9), queue_size
        self.images: OrderedDict[int, Any] = OrderedDict()
        self.infos: OrderedDict[int, Any] = OrderedDict()
        self.unmatched_images = 0
        self.infos_received = 0

    def _push(self, queue: OrderedDict, stamp: int, msg: Any) -> int:
        """Insert; return how many entries were evicted (oldest first)."""
        queue[stamp] = msg
        evicted = 0
        while len(queue) > self.queue_size:
            queue.popitem(last=False)
            evicted += 1
        return evicted

    def _nearest_info(self, stamp: int) -> int | None:
        if not self.infos:
            return None
        if self.mode == "cache":
            return next(reversed(self.infos))
        if self.mode == "exact":
            return stamp if stamp in self.infos else None
        best = min(self.infos, key=lambda s: abs(s - stamp))
        return best if abs(best - stamp) <= self.slop_ns else None

    def add_image(self, stamp: int, image: Any) -> list[tuple[Any, Any]]:
        info_stamp = self._nearest_info(stamp)
        if info_stamp is not None:
            self._give_up_before(stamp)
            return [(image, self.infos[info_stamp])]
        if self.mode == "cache":  # no info yet: nothing to wait for
            self.unmatched_images += 1
            return []
        self.unmatched_images += self._push(self.images, stamp, image)
        return []

    def add_info(self, stamp: int, info: Any) -> list[tuple[Any, Any]]:
        self.infos_received += 1
        self._push(self.infos, stamp, info)
        if self.mode == "cache":
            return []
        matched = [s for s in self.images if self._nearest_info(s) == stamp]
        pairs = [(self.images.pop(s), info) for s in matched]
        if matched:
            self._give_up_before(max(matched))
        return pairs

    def _give_up_before(self, stamp: int) -> None:
        """Images older than a matched one will not be processed in order: count them as lost."""
        for old in [s for s in self.images if s < stamp]:
            del self.images[old]
            self.unmatched_images += 1

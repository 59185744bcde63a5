"""What ``modot_node`` does with one frame, apart from the ROS wiring in ``modot_ros.ros.node``.

On the executor thread, ``input_problem`` refuses an image before any work is spent on it (encoding,
size, stamp order). On the worker threads the fixed order for one synchronised (image, camera_info)
pair runs in two halves: ``infer_pair`` (decode → check against camera_info → the network) and
``finish_frame`` (read-outs → metric scale → temporal fusion → arrays → messages with the input header →
publish), timing each stage for the diagnostics. With ``pipeline_threads`` 2 each half has its own
thread (the next frame's network overlaps this frame's outputs); ``process_pair`` runs both on one.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from modot_ros.pipeline.compressed import decode_rgb, is_compressed
from modot_ros.pipeline.frame_outputs import compute_frame_arrays, frame_messages
from modot_ros.pipeline.messages import (COLOUR_ENCODINGS, MessageError, camera_info_to_intrinsics,
                                         check_size_matches_info)
from modot_ros.pipeline.options import OutputOptions
from modot_ros.pipeline.stamp_sync import frame_latency, stamp_ns
from modot_ros.ros.node_config import DEFAULT_FRAME_ID

if TYPE_CHECKING:  # the node imports this module; the types are for reading only
    from modot_ros.inference import NetworkResult
    from modot_ros.ros.node import ModotNode


def subscribed_topics(publishers: dict[str, Any]) -> set[str]:
    """The output topics somebody reads (lazy mode computes and publishes only those)."""
    return {topic for topic, pub in publishers.items() if pub.get_subscription_count() > 0}


def size_problem(width: int, height: int, max_input_pixels: int) -> tuple[str, str] | None:
    """("size", reason) when the image has more pixels than the node accepts."""
    if width * height > max_input_pixels:
        return "size", (f"image {width}x{height} exceeds max_input_pixels="
                        f"{max_input_pixels}; downscale it or raise the parameter")
    return None


def input_problem(msg: Any, max_input_pixels: int, last_stamp: int) -> tuple[str, str] | None:
    """(kind, reason) when the image is refused before any work is spent on it.

    A compressed image's encoding and size are known only once decoded, on the worker thread.
    """
    if not is_compressed(msg):
        if msg.encoding not in COLOUR_ENCODINGS:
            return "encoding", (f"unsupported image encoding '{msg.encoding}'; use one of "
                                f"{', '.join(COLOUR_ENCODINGS)}")
        if problem := size_problem(msg.width, msg.height, max_input_pixels):
            return problem
    stamp = stamp_ns(msg.header)
    if stamp and stamp <= last_stamp:  # stamp 0 (unstamped) carries no order to check
        return "stamp", (f"image stamp {stamp / 1e9:.3f} s is not newer than the previous "
                         f"{last_stamp / 1e9:.3f} s (out of order or repeated); dropped")
    return None


@dataclass
class FrameInFlight:
    """One frame between the network (``infer_pair``) and its outputs (``finish_frame``)."""

    image: Any
    info: Any
    rgb: np.ndarray
    options: OutputOptions
    estimator: Any  # the one that ran the network reads out too, even if a reload swapped it since
    raw: NetworkResult
    subscribed: set[str]
    timings: dict[str, float]
    start: float


def process_pair(node: ModotNode, pair: tuple[Any, Any]) -> None:
    """Process one (image, camera_info) pair on one thread; a bad frame is counted and logged, never raised."""
    frame = infer_pair(node, pair)
    if frame is not None:
        finish_frame(node, frame)


def infer_pair(node: ModotNode, pair: tuple[Any, Any]) -> FrameInFlight | None:
    """The first half (decode, checks, the network); None when the frame is skipped or bad."""
    return _guarded(node, _infer, node, *pair)


def finish_frame(node: ModotNode, frame: FrameInFlight) -> None:
    """The second half (read-outs, scale, fusion, arrays, messages, publishing)."""
    _guarded(node, _finish, node, frame)


def _guarded(node: ModotNode, step, *args):
    try:
        return step(*args)
    except (MessageError, ValueError, TypeError) as error:
        node.stats.count("rejected")
        node.warn_once(f"bad:{error}", f"frame skipped: {error}")
    except Exception as error:  # noqa: BLE001 - keep serving; the next frame may be fine
        node.warn_once(f"error:{type(error).__name__}", f"frame failed: {type(error).__name__}: {error}")
    return None


def _infer(node: ModotNode, image: Any, info: Any) -> FrameInFlight | None:
    config, subscribed = node.config, subscribed_topics(node.publishers_)
    if config.lazy and not subscribed:
        node.stats.count("lazy_skipped")
        return None
    timings, start = {}, time.perf_counter()
    rgb = decode_rgb(image)  # first: names zero-size, step, data-size and undecodable-payload problems
    if is_compressed(image) and (problem := size_problem(rgb.shape[1], rgb.shape[0], config.max_input_pixels)):
        raise MessageError(problem[1])
    check_size_matches_info(rgb.shape[1], rgb.shape[0], info)
    intrinsics = camera_info_to_intrinsics(info)
    cloud_unread = config.lazy and "points" not in subscribed  # no cloud nobody reads
    options = OutputOptions.from_config(config.replace(publish_points=False) if cloud_unread else config)
    if config.debug_delay_ms:
        time.sleep(config.debug_delay_ms / 1e3)
    timings["convert"] = (time.perf_counter() - start) * 1e3
    tick = time.perf_counter()
    estimator = node.estimator  # read once per frame: a model reload replaces it whole, between two frames
    raw = estimator.infer(rgb, intrinsics)
    timings["forward"] = (time.perf_counter() - tick) * 1e3
    return FrameInFlight(image, info, rgb, options, estimator, raw, subscribed, timings, start)


def _finish(node: ModotNode, frame: FrameInFlight) -> None:
    image, options, timings, config = frame.image, frame.options, frame.timings, node.config
    tick = time.perf_counter()
    prediction = frame.estimator.read_out(frame.raw, options.output_size(frame.rgb.shape[1], frame.rgb.shape[0]))
    timings["forward"] += (time.perf_counter() - tick) * 1e3  # predict() = infer + read_out
    tick = time.perf_counter()
    prediction = node.scale_input.apply(prediction, stamp_ns(image.header), image.header.frame_id)
    timings["scale"] = (time.perf_counter() - tick) * 1e3
    prediction = node.temporal_input.apply(prediction, stamp_ns(image.header), image.header.frame_id,
                                           mixture=options.publish_mixture or options.edge_points == "snap")
    arrays = compute_frame_arrays(prediction, frame.rgb, options)
    timings["readout"], timings["cloud"] = arrays.timings_ms["edges"], arrays.timings_ms["cloud"]
    tick = time.perf_counter()
    messages = frame_messages(arrays, _output_header(node, image), frame.info, node.types, options,
                              wanted=frame.subscribed if config.lazy else None)  # none nobody reads
    timings["messages"] = (time.perf_counter() - tick) * 1e3
    tick = time.perf_counter()
    for topic, msg in messages.items():  # under lazy only the subscribed topics' were built
        node.publishers_[topic].publish(msg)
    timings["publish"] = (time.perf_counter() - tick) * 1e3
    timings["total"] = (time.perf_counter() - frame.start) * 1e3  # with the wait between the halves
    latency, kind, problem = frame_latency(node.get_clock().now().nanoseconds, stamp_ns(image.header))
    if problem:
        node.warn_first(f"latency:{kind}", problem)
    node.stats.frame(timings, latency)


def _output_header(node: ModotNode, image: Any):
    """The input header with the output frame_id: the parameter, the image's, or the default."""
    header = image.header
    if node.config.frame_id:
        header.frame_id = node.config.frame_id
    elif not header.frame_id:
        header.frame_id = DEFAULT_FRAME_ID
        node.warn_first("frame_id", f"images on '{node.image_topic}' have an empty "
                        f"header.frame_id, which RViz and tf cannot place; publishing in "
                        f"'{DEFAULT_FRAME_ID}': set the camera driver's frame or the frame_id parameter")
    return header

"""Scenarios the node tests run in a peer process.

Usage: ``python -m tests.ros_helpers.node_scenarios <scenario> --out result.json
[--ns /t --image /cam/image --info /cam/camera_info] [--count N]``.
"""
from __future__ import annotations

import argparse
import json
import time

import rclpy
from lifecycle_msgs.msg import Transition
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CompressedImage, Image

from tests.ros_helpers.node_peer import OUTPUTS, RELIABLE, Peer

SECOND = 10**9


def now_ns() -> int:
    return time.time_ns()


def play(peer: Peer, count: int, period: float, topic: str = "depth/image", wait: float = 20.0,
         send=None) -> list[int]:
    """Publish ``count`` good frames ``period`` apart (``send(stamp)``, default raw); wait until ``topic`` has them."""
    stamps = []
    for _ in range(count):
        stamps.append(now_ns())
        (send or peer.frame)(stamps[-1])
        peer.spin(period)
    peer.wait(lambda: set(stamps) <= peer.received(topic), wait)
    return stamps


def until_answered(peer: Peer, send=None, topics: tuple[str, ...] = ("depth/image",), tries: int = 30) -> set[int]:
    """Send frames (``send(stamp)``, default raw) until the node has answered on every one of ``topics``.

    Seeing the node's publisher does not mean the node sees our subscription yet: until it does,
    lazy mode skips frames (or leaves that topic out), and a scenario that counts its first frames
    would lose them. Returns the warm-up stamps, for scenarios that compare every output they saw.
    """
    sent = []
    for _ in range(tries):
        sent.append(now_ns())
        (send or peer.frame)(sent[-1])
        if peer.wait(lambda: all(peer.received(topic) for topic in topics), 1.0):
            # a later warm-up frame may still be in the worker, where it would delay the scenario's first
            peer.wait(lambda: sent[-1] in peer.received(topics[0]), 10.0)
            return set(sent)
    raise AssertionError(f"the node answered none of {tries} warm-up frames on all of {', '.join(topics)}")


def without(seen: dict[str, list[dict]], stamps: set[int]) -> dict[str, list[dict]]:
    """``seen`` less the outputs of the frames stamped ``stamps`` (warm-up frames)."""
    return {topic: [e for e in entries if e["stamp"] not in stamps] for topic, entries in seen.items()}


def topics(peer: Peer) -> dict:
    out = {}
    # lazy: nothing subscribes to any output -> the node must not infer
    peer.spin(1.0)
    for _ in range(4):
        peer.frame(now_ns())
        peer.spin(0.25)
    peer.wait(lambda: int(peer.diagnostics.get("lazy_skipped", 0)) >= 4, 10)
    out["lazy_diag"] = dict(peer.diagnostics)
    peer.subscribe(OUTPUTS)
    peer.wait(lambda: all(s.get_publisher_count() > 0 for s in peer.subs.values()), 20)
    warm_up = until_answered(peer, topics=tuple(OUTPUTS))
    out["stamps"] = play(peer, 4, 0.4)
    out["bad_param"] = peer.set_parameter("edge_points", "blur")
    out["bad_range"] = peer.set_parameter("min_depth", 30.0)
    out["good_param"] = peer.set_parameter("edge_points", "snap")
    out["after_param"] = play(peer, 1, 0.2)
    peer.spin(1.5)
    out["diag"] = dict(peer.diagnostics)
    out["seen"] = without(peer.seen, warm_up)
    return out


BAD_KINDS = ["encoding", "info_size", "zero_size", "nan_intrinsics", "nan_k", "zero_intrinsics", "out_of_order",
             "huge", "wrong_step", "short_data", "missing_info"]
HOUR = 3600 * SECOND


def bad_inputs(peer: Peer) -> dict:
    peer.subscribe(["depth/image"])
    peer.wait(lambda: peer.subs["depth/image"].get_publisher_count() > 0, 20)
    until_answered(peer)
    good, bad = play(peer, 1, 0.3), {}
    for kind in BAD_KINDS:
        stamp = good[-1] - SECOND if kind == "out_of_order" else now_ns()
        peer.frame(stamp, kind=kind)
        bad[kind] = stamp
        peer.spin(0.3)
        good += play(peer, 1, 0.3)
    out = {"good": good, "bad": bad, "param": peer.set_parameter("occlusion_threshold", 2.0)}
    good += play(peer, 1, 0.3)
    odd = _odd_headers(peer)
    good += odd.pop("good")
    peer.spin(1.5)
    frame_ids = {e["stamp"]: e["frame_id"] for e in peer.seen["depth/image"]}
    return out | {"received": sorted(peer.received("depth/image")), "diag": dict(peer.diagnostics),
                  "odd": odd, "frame_ids": frame_ids,
                  "zero_outputs": sum(e["stamp"] == 0 for e in peer.seen["depth/image"])}


def _odd_headers(peer: Peer) -> dict:
    """Frames that are served but whose header is odd: stamp 0 (twice), empty frame_id, a future stamp."""
    odd, good = {}, []
    zeros = lambda: sum(e["stamp"] == 0 for e in peer.seen["depth/image"])  # noqa: E731
    for count in (1, 2):  # the second one must not be dropped as "not newer than the previous"
        peer.frame(0)
        peer.wait(lambda: zeros() >= count, 10)
        good += play(peer, 1, 0.3)
    odd["stamp_zero"] = 0
    odd["empty_frame_id"] = now_ns()
    peer.frame(odd["empty_frame_id"], kind="empty_frame_id")
    peer.wait(lambda: odd["empty_frame_id"] in peer.received("depth/image"), 10)
    odd["ahead"] = now_ns() + HOUR  # last: it moves the node's newest stamp an hour ahead
    peer.frame(odd["ahead"])
    peer.wait(lambda: odd["ahead"] in peer.received("depth/image"), 10)
    return odd | {"good": good}


def overload(peer: Peer) -> dict:
    peer.subscribe(["depth/image"])
    peer.wait(lambda: peer.subs["depth/image"].get_publisher_count() > 0, 20)
    play(peer, 1, 0.5)  # warms the node up; a frame lazy mode skips costs time here, not the result
    sent = []
    for _ in range(75):  # 2.5 s at 30 Hz
        sent.append(now_ns())
        peer.frame(sent[-1])
        peer.spin(1 / 30)
    peer.spin(2.0)
    latencies = [e["latency"] for e in peer.seen["depth/image"] if e["stamp"] in set(sent)]
    return {"sent": len(sent), "latencies": latencies, "diag": dict(peer.diagnostics)}


def lifecycle(peer: Peer) -> dict:
    peer.subscribe(["depth/image"])
    states, received, diag = {"start": peer.lifecycle(None)}, {}, {}
    for name, transition in (("configure", Transition.TRANSITION_CONFIGURE),
                             ("activate", Transition.TRANSITION_ACTIVATE),
                             ("deactivate", Transition.TRANSITION_DEACTIVATE),
                             ("cleanup", Transition.TRANSITION_CLEANUP)):
        states[name] = peer.lifecycle(transition)
        if name == "activate":
            peer.wait_node(20)
            until_answered(peer)
        stamps = play(peer, 2, 0.3, wait=8 if name == "activate" else 1.5)
        received[name] = len(set(stamps) & peer.received("depth/image"))
        if name == "activate":
            peer.wait(lambda: peer.diagnostics.get("state") == "active", 5)
            diag = dict(peer.diagnostics)
    return {"states": states, "received": received, "diag_active": diag}


def lifecycle_bad_model(peer: Peer) -> dict:
    return {"start": peer.lifecycle(None), "configure": peer.lifecycle(Transition.TRANSITION_CONFIGURE)}


def launched(peer: Peer) -> dict:
    """A node started by a launch file: its state, served frames, then deactivate stays put."""
    peer.subscribe(["depth/image"])
    peer.wait(lambda: peer.subs["depth/image"].get_publisher_count() > 0, 30)
    until_answered(peer)
    stamps = play(peer, 2, 0.3)
    out = {"state": peer.lifecycle(None), "sent": stamps, "seen": peer.seen["depth/image"]}
    out["deactivate"] = peer.lifecycle(Transition.TRANSITION_DEACTIVATE)
    # the launch file's activate handler must not fire again: give it time to (wrongly) act
    peer.spin(2.0)
    out["after_deactivate"] = peer.lifecycle(None)
    return out


def managed(peer: Peer) -> dict:
    """A lifecycle node launched without autostart: this peer configures and activates it."""
    peer.subscribe(["depth/image"])
    states = {"start": peer.lifecycle(None), "configure": peer.lifecycle(Transition.TRANSITION_CONFIGURE),
              "activate": peer.lifecycle(Transition.TRANSITION_ACTIVATE)}
    peer.wait_node(30)
    peer.wait(lambda: peer.subs["depth/image"].get_publisher_count() > 0, 30)
    until_answered(peer)
    stamps = play(peer, 2, 0.3)
    return {"states": states, "sent": stamps, "received": sorted(peer.received("depth/image"))}


def listen(peer: Peer, count: int) -> dict:
    """Wait until ``count`` frames came out; a bag, not this peer, plays the input."""
    peer.subscribe(["depth/image"])
    peer.wait(lambda: len(peer.received("depth/image")) >= count, 90)
    peer.spin(1.0)
    return {"seen": peer.seen["depth/image"]}


LARGE = ((640, 480), (1280, 720))


def large(peer: Peer) -> dict:
    """Camera-sized rgb8 frames, one at a time: each must come back before the next is sent."""
    peer.subscribe(["depth/image"])
    peer.wait(lambda: peer.subs["depth/image"].get_publisher_count() > 0, 30)
    until_answered(peer)
    sent = {}
    for width, height in LARGE:
        for _ in range(4):
            stamp = now_ns()
            peer.sized_frame(stamp, width, height)
            sent[stamp] = f"{width}x{height}"
            peer.wait(lambda: stamp in peer.received("depth/image"), 20)
    sizes = {e["stamp"]: f"{e['width']}x{e['height']}" for e in peer.seen["depth/image"]}
    return {"sent": {str(k): v for k, v in sent.items()}, "answered": {str(k): v for k, v in sizes.items()}}


def compressed(peer: Peer) -> dict:
    """jpeg and png frames on <image>/compressed, a cut-off jpeg between them: every good one answered."""
    publisher = peer.node.create_publisher(CompressedImage, peer.images.topic_name + "/compressed", RELIABLE)
    peer.subscribe(["depth/image"])
    assert peer.wait(lambda: publisher.get_subscription_count() > 0
                     and peer.subs["depth/image"].get_publisher_count() > 0, 90), "node never subscribed"
    until_answered(peer, lambda s: peer.compressed_frame(publisher, s, "jpeg"))
    good = {codec: play(peer, 2, 0.3, send=lambda s, c=codec: peer.compressed_frame(publisher, s, c))
            for codec in ("jpeg", "png")}
    cut = now_ns()
    peer.compressed_frame(publisher, cut, "jpeg", cut=True)
    peer.spin(0.5)
    good["after"] = play(peer, 2, 0.3, send=lambda s: peer.compressed_frame(publisher, s, "jpeg"))
    peer.spin(1.5)
    sizes = {e["stamp"]: [e["width"], e["height"]] for e in peer.seen["depth/image"]}
    return {"good": good, "cut": cut, "sizes": {str(k): v for k, v in sizes.items()},
            "raw_subscribers": peer.images.get_subscription_count(), "diag": dict(peer.diagnostics)}


def silent(peer: Peer) -> dict:
    """A best-effort camera the node's reliable subscription cannot match: the node must say so."""
    topic = peer.images.topic_name
    peer.node.destroy_publisher(peer.images)
    peer.images = peer.node.create_publisher(Image, topic, qos_profile_sensor_data)
    warned = lambda: "no image arrived" in peer.diagnostics.get("last_error", "")  # noqa: E731
    end = time.monotonic() + 30
    while not warned() and time.monotonic() < end:
        peer.frame(now_ns())
        peer.spin(0.2)
    return {"diag": dict(peer.diagnostics)}


# scenarios whose node has no raw image subscription yet (lifecycle), or that wait on their own
NO_RAW_WAIT = ("lifecycle", "lifecycle_bad_model", "managed", "listen", "silent", "compressed")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=["topics", "bad_inputs", "overload", "lifecycle", "lifecycle_bad_model",
                                             "launched", "managed", "listen", "large", "silent", "compressed"])
    parser.add_argument("--out", required=True)
    parser.add_argument("--ns", default="")
    parser.add_argument("--image", default="image")
    parser.add_argument("--info", default="camera_info")
    parser.add_argument("--node", default="modot")
    parser.add_argument("--count", type=int, default=0, help="listen: frames to wait for")
    args = parser.parse_args()
    rclpy.init()
    try:
        peer = Peer(args.ns, args.image, args.info, args.node)
        if args.scenario not in NO_RAW_WAIT:
            assert peer.wait_node(90), "the node never subscribed to the image topics"
        result = listen(peer, args.count) if args.scenario == "listen" else globals()[args.scenario](peer)
        with open(args.out, "w") as handle:
            json.dump(result, handle)
    finally:
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()

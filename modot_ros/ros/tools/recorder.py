"""Record topics to a rosbag2 with rosbags (``ros2 bag record`` stand-in, no ROS install needed).

``python -m modot_ros.ros.tools.recorder --output BAG --topics /depth/image ... [--ready-file F]
[--status-file F]``. Types come from the ROS graph once a topic has publishers; the
subscription's reliability follows the publishers' (like ros2 bag record). Messages are stored
as received (CDR bytes) with bag time = wall-clock receive time, so latency against the
player's publish times is ``bag time - publish time``. SIGINT/SIGTERM close the bag cleanly.
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path

import rclpy
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.signals import SignalHandlerOptions

from modot_ros.bags.io import BagWriter, typestore_for
from modot_ros.bags.typestore import rosbags_message_types
from modot_ros.ros.tools.bag_player import message_class


class Recorder:
    """Subscribes (raw) to ``topics`` as they appear and writes what arrives into ``writer``."""

    def __init__(self, node, writer: BagWriter, topics: list[str], required: list[str] | None = None,
                 qos_depth: int = 100) -> None:
        self.node, self.writer, self.qos_depth = node, writer, qos_depth
        self.wanted = list(topics)
        self.required = list(required if required is not None else topics)
        self.subscriptions: dict[str, object] = {}
        self.counts: dict[str, int] = {t: 0 for t in topics}

    def discover(self) -> None:
        """Subscribe to wanted topics that now have publishers."""
        types = dict(self.node.get_topic_names_and_types())
        for topic in self.wanted:
            if topic in self.subscriptions or topic not in types:
                continue
            publishers = self.node.get_publishers_info_by_topic(topic)
            if not publishers:
                continue
            reliable = all(p.qos_profile.reliability == ReliabilityPolicy.RELIABLE for p in publishers)
            qos = QoSProfile(depth=self.qos_depth, reliability=ReliabilityPolicy.RELIABLE if reliable
                             else ReliabilityPolicy.BEST_EFFORT)
            msgtype = types[topic][0]
            self.subscriptions[topic] = self.node.create_subscription(
                message_class(msgtype), topic, self._callback(topic, msgtype), qos, raw=True)

    def _callback(self, topic: str, msgtype: str):
        def store(raw: bytes) -> None:
            self.writer.write_raw(topic, msgtype, raw, time.time_ns())
            self.counts[topic] += 1
        return store

    @property
    def ready(self) -> bool:
        """Every required topic is subscribed."""
        return all(t in self.subscriptions for t in self.required)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="recorder", description=__doc__.split("\n\n")[0])
    p.add_argument("--output", "-o", required=True, help="bag folder to create")
    p.add_argument("--topics", nargs="+", required=True)
    p.add_argument("--storage", choices=("mcap", "sqlite3"), default="mcap")
    p.add_argument("--require", nargs="*", help="topics that must be subscribed before --ready-file (default: all)")
    p.add_argument("--ready-file", help="touched once every required topic is subscribed")
    p.add_argument("--status-file", help="message counts per topic, rewritten twice a second")
    p.add_argument("--duration", type=float, default=0.0, help="stop after this many seconds (0: on signal)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    stop = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.append(True))
    rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
    node = rclpy.create_node("modot_bag_recorder")
    typestore = typestore_for(Path(args.output))
    rosbags_message_types(typestore)  # registers modot_ros_msgs so its topics can be stored too
    writer = BagWriter(args.output, args.storage, typestore)
    recorder = Recorder(node, writer, args.topics, args.require)
    end = time.monotonic() + args.duration if args.duration > 0 else float("inf")
    last_status = last_discovery = 0.0
    try:
        while not stop and time.monotonic() < end:
            if len(recorder.subscriptions) < len(recorder.wanted) and time.monotonic() - last_discovery > 0.2:
                was_ready = recorder.ready
                recorder.discover()
                last_discovery = time.monotonic()
                if recorder.ready and not was_ready and args.ready_file:
                    Path(args.ready_file).touch()
            rclpy.spin_once(node, timeout_sec=0.05)
            if args.status_file and time.monotonic() - last_status > 0.5:
                Path(args.status_file).write_text(json.dumps(recorder.counts))
                last_status = time.monotonic()
    finally:
        writer.close()
        if args.status_file:
            Path(args.status_file).write_text(json.dumps(recorder.counts))
        node.destroy_node()
        rclpy.try_shutdown()
    print(f"recorder: {recorder.counts}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

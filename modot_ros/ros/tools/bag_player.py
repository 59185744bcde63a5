"""Play a rosbag2 into ROS with its recorded timing and /clock (``ros2 bag play --clock`` stand-in).

``python -m modot_ros.ros.tools.bag_player BAG [--rate R] [--clock-hz 100] [--wait-for TOPIC ...]
[--log player.json]``. Messages go out as the recorded CDR bytes (no re-serialisation). The log
maps each Image's header.stamp to the wall time it was published, so a recorder on the other
side can measure end-to-end latency. Works without a ROS install beyond the rclpy wheels.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

import rclpy
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rosgraph_msgs.msg import Clock

from modot_ros.bags.io import IMAGE_TYPES, BagError, open_bag
from modot_ros.pipeline.stamp_sync import stamp_ns


def message_class(msgtype: str) -> type:
    """rclpy class of a rosbag2 type name such as ``sensor_msgs/msg/Image``."""
    package, kind, name = msgtype.split("/")
    try:
        return getattr(importlib.import_module(f"{package}.{kind}"), name)
    except (ImportError, AttributeError):
        raise BagError(f"message type {msgtype} is not installed for rclpy; cannot play it") from None


def _installed(msgtype: str, node) -> bool:
    try:
        message_class(msgtype)
    except BagError as error:
        node.get_logger().warning(f"{error}; its topic is not played")
        return False
    return True


class BagPlayer:
    """Publishes the chosen topics of an open bag reader at ``rate`` x recorded speed."""

    def __init__(self, node, reader, topics: list[str] | None, rate: float, clock_hz: float,
                 qos_depth: int = 10) -> None:
        if rate <= 0 or clock_hz <= 0:
            raise ValueError(f"rate and clock_hz must be > 0, got {rate}, {clock_hz}")
        self.node, self.reader, self.rate, self.clock_period = node, reader, rate, 1.0 / clock_hz
        self.connections = [c for c in reader.connections if topics is None or c.topic in topics]
        missing = set(topics or ()) - {c.topic for c in self.connections}
        if missing:
            raise BagError(f"topics {sorted(missing)} are not in the bag")
        if topics is None:  # "all": a topic whose type this install lacks (tf2_msgs in a pip venv) is left out
            self.connections = [c for c in self.connections if _installed(c.msgtype, node)]
        qos = QoSProfile(depth=qos_depth, reliability=ReliabilityPolicy.RELIABLE)
        self.publishers = {c.topic: node.create_publisher(message_class(c.msgtype), c.topic, qos)
                           for c in self.connections}
        self.clock = node.create_publisher(Clock, "/clock", QoSProfile(depth=1))
        self.log: dict[str, dict[int, int]] = {c.topic: {} for c in self.connections if c.msgtype in IMAGE_TYPES}

    def wait_for_subscribers(self, topics: list[str], timeout: float) -> None:
        """Block until every topic in ``topics`` has a subscriber (the node is up), then settle."""
        end = time.monotonic() + timeout
        for topic in topics:
            publisher = self.publishers.get(topic)
            if publisher is None:
                raise BagError(f"--wait-for topic {topic} is not played")
            while publisher.get_subscription_count() == 0:
                if time.monotonic() > end:
                    raise TimeoutError(f"no subscriber on {topic} after {timeout:.0f} s")
                rclpy.spin_once(self.node, timeout_sec=0.05)
        time.sleep(0.5)  # discovery is symmetric but not simultaneous: let the other side match us

    def _publish_clock(self, t_ns: int) -> None:
        msg = Clock()
        msg.clock.sec, msg.clock.nanosec = divmod(int(t_ns), 1_000_000_000)
        self.clock.publish(msg)

    def _sleep_until(self, wall_target: float, wall_start: float, bag_start: int) -> None:
        """Sleep to ``wall_target`` (monotonic), publishing /clock every clock period meanwhile."""
        while (remaining := wall_target - time.monotonic()) > 0:
            time.sleep(min(remaining, self.clock_period))
            self._publish_clock(bag_start + (time.monotonic() - wall_start) * self.rate * 1e9)

    def play(self) -> int:
        """Publish every message at its recorded time (scaled by rate); returns the count."""
        count, wall_start, bag_start = 0, time.monotonic(), None
        for con, t_ns, raw in self.reader.messages(connections=self.connections):
            bag_start = t_ns if bag_start is None else bag_start
            self._sleep_until(wall_start + (t_ns - bag_start) / self.rate / 1e9, wall_start, bag_start)
            self._publish_clock(t_ns)
            if con.topic in self.log:
                stamp = stamp_ns(self.reader.deserialize(raw, con.msgtype).header)
                self.log[con.topic][stamp] = time.time_ns()
            self.publishers[con.topic].publish(bytes(raw))
            count += 1
        return count


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bag_player", description=__doc__.split("\n\n")[0])
    p.add_argument("bag")
    p.add_argument("--topics", nargs="*", help="topics to play (default: all)")
    p.add_argument("--rate", type=float, default=1.0, help="playback speed factor")
    p.add_argument("--clock-hz", type=float, default=100.0, help="/clock publish rate between messages")
    p.add_argument("--wait-for", nargs="*", default=[], help="start once these topics have subscribers")
    p.add_argument("--wait-timeout", type=float, default=60.0)
    p.add_argument("--linger", type=float, default=1.0, help="seconds to stay after the last message")
    p.add_argument("--log", help="write {topic: {stamp_ns: publish wall ns}} for Image topics here")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    rclpy.init()
    node = rclpy.create_node("modot_bag_player")
    try:
        with open_bag(args.bag) as reader:
            player = BagPlayer(node, reader, args.topics, args.rate, args.clock_hz)
            player.wait_for_subscribers(args.wait_for, args.wait_timeout)
            count = player.play()
            end = time.monotonic() + args.linger
            while time.monotonic() < end:  # reliable delivery of the tail before we leave
                rclpy.spin_once(node, timeout_sec=0.05)
        if args.log:
            Path(args.log).write_text(json.dumps(player.log))
        print(f"bag_player: published {count} messages", flush=True)
        return 0
    except (BagError, TimeoutError, ValueError) as error:
        print(f"bag_player: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    sys.exit(main())

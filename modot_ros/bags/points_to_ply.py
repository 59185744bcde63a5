"""A bag's recorded point clouds -> one PLY per message, without ``ros2 bag`` or a ROS install.

    python -m modot_ros.bags.points_to_ply BAG [--topic /modot/points] --output DIR [--every N] [--max N]

Reads sensor_msgs/PointCloud2 with ``rosbags`` (mcap or sqlite3). Each message becomes
``DIR/points_<stamp ns>.ply`` (named by header.stamp, so files sort in time): its finite x, y, z,
the packed ``rgb`` field as colours, every other field (``boundary``, ``confidence``) as a float
property. Without ``--topic`` the bag's one PointCloud2 topic is used.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from modot_ros.bags.io import BagError, _pick, _require, _topics_of, open_bag
from modot_ros.pipeline.messages import MessageError
from modot_ros.pipeline.ply import write_ply
from modot_ros.pipeline.pointcloud import read_cloud_fields, unpack_rgb
from modot_ros.pipeline.stamp_sync import stamp_ns

POINTCLOUD2 = "sensor_msgs/msg/PointCloud2"


def cloud_to_ply(msg, path: Path) -> int:
    """Write one PointCloud2 (rosbags or rclpy message) as a PLY; returns the points written."""
    fields = read_cloud_fields(msg)
    missing = [axis for axis in "xyz" if axis not in fields]
    if missing:
        raise MessageError(f"PointCloud2 has no {', '.join(missing)} field (fields: {', '.join(fields)})")
    xyz = np.stack([fields[axis].astype(np.float32) for axis in "xyz"], axis=-1)
    rgb = unpack_rgb(fields["rgb"]) if "rgb" in fields else None
    scalars = {name: values for name, values in fields.items()
               if name not in ("x", "y", "z", "rgb") and values.ndim == xyz.ndim - 1}
    return write_ply(path, xyz, rgb, scalars)


def bag_points_to_ply(bag: str | Path, output: str | Path, topic: str | None = None, every: int = 1,
                      max_clouds: int = 0) -> list[Path]:
    """Export every ``every``-th cloud of ``topic`` (at most ``max_clouds``, 0 = all); the files written."""
    if every < 1 or max_clouds < 0:
        raise BagError(f"--every must be >= 1 and --max >= 0, got {every} and {max_clouds}")
    output = Path(output)
    written: list[Path] = []
    with open_bag(bag) as reader:
        clouds = [c.topic for c in _topics_of(reader, POINTCLOUD2)]
        if topic is None:
            topic = _pick(clouds, "PointCloud2", "--topic", hints=("points",))
            if topic is None:
                raise BagError(f"bag {bag} has no PointCloud2 messages; record the node's points topic")
        else:
            _require(topic, {c.topic: c.msgtype for c in reader.connections}, (POINTCLOUD2,), "--topic")
        output.mkdir(parents=True, exist_ok=True)
        connections = [c for c in reader.connections if c.topic == topic]
        for index, (con, _, raw) in enumerate(reader.messages(connections=connections)):
            if index % every:
                continue
            msg = reader.deserialize(raw, con.msgtype)
            path = output / f"points_{stamp_ns(msg.header):019d}.ply"
            try:
                if cloud_to_ply(msg, path):
                    written.append(path)
            except MessageError as error:
                raise BagError(f"bag {bag}, topic {topic}, cloud {index}: {error}") from None
            if max_clouds and len(written) == max_clouds:
                break
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bag", help="rosbag2 folder or .mcap / .db3 file")
    parser.add_argument("--topic", help="PointCloud2 topic (default: the bag's only one)")
    parser.add_argument("--output", "-o", required=True, help="folder for the PLY files")
    parser.add_argument("--every", type=int, default=1, help="export every Nth cloud")
    parser.add_argument("--max", type=int, default=0, help="at most this many files (0 = all)")
    args = parser.parse_args(argv)
    try:
        written = bag_points_to_ply(args.bag, args.output, args.topic, args.every, args.max)
    except BagError as error:
        print(f"points_to_ply: {error}", file=sys.stderr)
        return 1
    print(f"wrote {len(written)} PLY files to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

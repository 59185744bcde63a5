"""Metric-scale scenarios the node tests run in a peer process (real DDS).

Usage: ``python -m tests.ros_helpers.scale_scenarios <range|sparse_depth|camera_height|laser_scan> --out X.json``.
The peer plays one rendered engine frame (``SEED``, so the shipped model sees a real scene) with
the scale source's messages on the same stamps, records the published depth and confidence and the
node's /diagnostics after each frame, and writes them per phase (the checks are in
``tests/test_node_scale.py``).
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import rclpy
from sensor_msgs.msg import CameraInfo, Image, LaserScan, Range, RegionOfInterest
from std_msgs.msg import Header

from modot_ros.depth_units import metres_to_millimetres
from modot_ros.geometry import CameraIntrinsics
from modot_ros.pipeline.messages import array_to_image, image_to_depth_metres, intrinsics_to_camera_info
from tests.ros_helpers.node_peer import RELIABLE, Peer

SEED, H, W = 2_000_010, 96, 128
RANGE_UV = (0.5, 0.8)  # a floor pixel: no occlusion boundary near it
HOLD_S = 5.0  # the node's scale_hold: frames take ~1 s each on a busy CPU


def scene() -> dict:
    """The rendered frame: rgb (H, W, 3) uint8, depth (H, W) m, intrinsics, camera height and pitch."""
    from training.data.synth.api import render_seeds

    out = render_seeds([SEED], H, W, noise=False)
    pose = out["pose"][0].numpy()
    up = pose[:3, :3].T @ np.array([0.0, 0.0, 1.0])
    return {"rgb": out["rgb"][0].permute(1, 2, 0).numpy().copy(), "depth": out["depth"][0, 0].numpy(),
            "intrinsics": CameraIntrinsics.from_matrix(out["K"][0].numpy(), W, H),
            "height": float(pose[2, 3]), "pitch": float(np.degrees(np.arcsin(-up[2])))}


class ScalePeer(Peer):
    def __init__(self, frame: dict) -> None:
        super().__init__("", "image", "camera_info", "modot")
        self.scene, self.values, self.sent = frame, {}, 0
        self.ranges = self.node.create_publisher(Range, "scale/range", RELIABLE)
        self.depths = self.node.create_publisher(Image, "scale/depth", RELIABLE)
        self.scans = self.node.create_publisher(LaserScan, "scale/scan", RELIABLE)
        self.outputs = [self.node.create_subscription(Image, topic, lambda m, t=topic: self._store(t, m), RELIABLE)
                        for topic in ("depth/image", "depth/confidence")]

    def _store(self, topic: str, msg) -> None:
        stamp = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
        self.values.setdefault(stamp, {})[topic] = image_to_depth_metres(msg).copy()

    def header(self, stamp: int) -> Header:
        header = Header(frame_id="cam_optical_frame")
        header.stamp.sec, header.stamp.nanosec = divmod(stamp, 10**9)
        return header

    def play(self, measure=None) -> dict:
        """One frame (and ``measure(stamp)``'s messages first); its depth, confidence and diagnostics."""
        stamp = time.time_ns()
        if measure is not None:
            measure(stamp)
        header = self.header(stamp)
        self.infos.publish(intrinsics_to_camera_info(self.scene["intrinsics"], header, CameraInfo, RegionOfInterest))
        self.images.publish(array_to_image(self.scene["rgb"], "rgb8", header, Image))
        self.sent += 1
        got = self.wait(lambda: len(self.values.get(stamp, {})) == 2, 60)
        self.wait(lambda: int(self.diagnostics.get("processed", 0)) >= self.sent, 10)
        if not got:
            return {"missing": True, "diag": dict(self.diagnostics)}
        depth, confidence = self.values[stamp]["depth/image"], self.values[stamp]["depth/confidence"]
        row, col = round(RANGE_UV[1] * H - 0.5), round(RANGE_UV[0] * W - 0.5)
        gt = self.scene["depth"]
        return {"at_beam": float(depth[row, col]), "confidence": float(np.nanmean(confidence)),
                "median_ratio": float(np.nanmedian(depth / gt)), "diag": dict(self.diagnostics)}

    def range_of(self, factor: float):
        """A Range message sender: the beam's true range at RANGE_UV times ``factor``."""
        intr, row, col = self.scene["intrinsics"], round(RANGE_UV[1] * H - 0.5), round(RANGE_UV[0] * W - 0.5)
        ray = np.array([(col - intr.cx) / intr.fx, (row - intr.cy) / intr.fy, 1.0])
        value = float(self.scene["depth"][row, col] * np.linalg.norm(ray) * factor)
        return lambda stamp: self.ranges.publish(Range(header=self.header(stamp), range=value, min_range=0.05,
                                                       max_range=20.0, field_of_view=0.05))

    def sparse_of(self, encoding: str, factor: float = 1.0):
        """A sparse depth sender: every 4th GT pixel (32FC1 m with NaN, or 16UC1 mm with 0), times ``factor``."""
        sparse = np.full((H, W), np.nan, np.float32)
        sparse[::4, ::4] = self.scene["depth"][::4, ::4] * factor
        pixels = sparse if encoding == "32FC1" else metres_to_millimetres(sparse)
        return lambda stamp: self.depths.publish(array_to_image(pixels, encoding, self.header(stamp), Image))

    def scan_of(self):
        """A LaserScan sender: a lidar at the optical centre scanning the camera's horizontal plane.

        That is laser_extrinsic "0 0 0 0 0 0"; its ranges are read from the GT row through the
        principal point.
        """
        intr, gt = self.scene["intrinsics"], self.scene["depth"]
        angles = np.linspace(-0.6, 0.6, 241)  # +angle is to the left: u = cx - fx tan(angle)
        cols = np.rint(intr.cx - intr.fx * np.tan(angles)).astype(int)
        inside = (cols >= 0) & (cols < W)
        ranges = np.full(angles.size, np.inf, np.float32)  # REP 117: no return
        ranges[inside] = gt[round(intr.cy), cols[inside]] / np.cos(angles[inside])
        return lambda stamp: self.scans.publish(LaserScan(
            header=self.header(stamp), angle_min=-0.6, angle_max=0.6, angle_increment=1.2 / 240,
            range_min=0.05, range_max=30.0, ranges=ranges.tolist()))


def laser_scan(peer: ScalePeer) -> dict:
    return {"fit": [peer.play(peer.scan_of()) for _ in range(2)]}


def range_source(peer: ScalePeer) -> dict:
    """fit (x3), a moderate change (smoothed), a jump (outlier), then silence: held, then the model's."""
    out = {"fit": [peer.play(peer.range_of(1.0)) for _ in range(3)], "smoothed": peer.play(peer.range_of(1.2)),
           "outlier": peer.play(peer.range_of(4.0))}
    out["silent"] = [peer.play() for _ in range(2)]
    peer.spin(HOLD_S)  # beyond scale_hold
    out["fallback"] = [peer.play() for _ in range(2)]
    return out


def sparse_depth(peer: ScalePeer) -> dict:
    out = {"fit": [peer.play(peer.sparse_of("32FC1")) for _ in range(2)],
           "millimetres": peer.play(peer.sparse_of("16UC1")),
           "bad": peer.play(lambda stamp: peer.depths.publish(
               array_to_image(peer.scene["rgb"], "rgb8", peer.header(stamp), Image)))}
    peer.spin(HOLD_S)
    out["fallback"] = [peer.play() for _ in range(2)]
    return out


def camera_height(peer: ScalePeer) -> dict:
    return {"fit": [peer.play() for _ in range(2)], "scene": {"height": peer.scene["height"],
                                                              "pitch": peer.scene["pitch"]}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=["range", "sparse_depth", "camera_height", "laser_scan"])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    rclpy.init()
    try:
        peer = ScalePeer(scene())
        assert peer.wait_node(120), "the node never subscribed to the image topics"
        if args.scenario != "camera_height":  # the first measurement must not go to discovery
            sender = {"range": peer.ranges, "sparse_depth": peer.depths, "laser_scan": peer.scans}[args.scenario]
            assert peer.wait(lambda: sender.get_subscription_count() > 0, 60), "no scale/* subscription"
        # a lazy node skips frames until it sees our subscriptions: the first scale frame would be lost
        assert peer.wait(lambda: all(sub.get_publisher_count() > 0 for sub in peer.outputs), 60), \
            "the node's depth/image and depth/confidence never matched our subscriptions"
        peer.spin(1.0)  # the node's side of the match settles too
        run = {"range": range_source, "sparse_depth": sparse_depth, "camera_height": camera_height,
               "laser_scan": laser_scan}[args.scenario]
        with open(args.out, "w") as handle:
            json.dump(run(peer), handle)
    finally:
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()

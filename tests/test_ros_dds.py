"""Two real processes over DDS (loopback only): Image and PointCloud2 arrive intact."""
import json
import os

import pytest

from tests.ros_helpers.process import Deadline, ros_env, start, stop

pytestmark = pytest.mark.ros


def test_image_and_cloud_cross_processes_intact(tmp_path):
    """Messages built by our conversion core decode bit-exactly in another rclpy process."""
    env = ros_env(domain_id=40 + os.getpid() % 50, tmp_path=tmp_path)
    out = tmp_path / "received.json"
    deadline = Deadline(90)
    receiver = start(["-m", "tests.ros_helpers.image_cloud_peer", "receive", "--count", "5", "--out", str(out)],
                     env, tmp_path / "receiver.log")
    publisher = start(["-m", "tests.ros_helpers.image_cloud_peer", "publish", "--count", "5"],
                      env, tmp_path / "publisher.log")
    try:
        assert deadline.wait(receiver) == 0, (tmp_path / "receiver.log").read_text()
        assert deadline.wait(publisher) == 0, (tmp_path / "publisher.log").read_text()
    finally:
        stop(receiver)
        stop(publisher)
    seen = json.loads(out.read_text())
    assert seen["images"] == {str(i): "camera_optical_frame" for i in range(5)}
    assert seen["clouds"] == {str(i): True for i in range(5)}

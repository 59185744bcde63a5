"""The silent-input watchdog on its own: when it speaks, and what it blames (no DDS needed)."""
from types import SimpleNamespace

import pytest
from rclpy.qos import QoSProfile, qos_profile_sensor_data

from modot_ros.ros.silent_input import SilentInputWatchdog

RELIABLE = QoSProfile(depth=5)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def publisher(qos, name="driver", namespace="/cam"):
    return SimpleNamespace(node_name=name, node_namespace=namespace, qos_profile=qos)


@pytest.fixture
def watchdog():
    clock = FakeClock()
    dog = SilentInputWatchdog(timeout_s=3.0, clock=clock)
    dog.restart(RELIABLE)
    return dog, clock


def test_quiet_until_the_timeout_then_one_line(watchdog):
    """A camera that stops for less than the timeout is not a DDS problem; longer is."""
    dog, clock = watchdog
    clock.now += 2.9
    assert dog.check("/cam/image", [publisher(RELIABLE)]) is None
    clock.now += 0.2
    line = dog.check("/cam/image", [publisher(RELIABLE)])
    assert line.startswith("no image arrived on '/cam/image' for 3 s although it has 1 publisher(s)")


def test_an_image_resets_the_silence(watchdog):
    """Every arriving image proves the transport works."""
    dog, clock = watchdog
    clock.now += 2.5
    dog.heard()
    clock.now += 2.5
    assert dog.check("/cam/image", [publisher(RELIABLE)]) is None


def test_no_publishers_is_expected_silence(watchdog):
    """Before the camera starts, nothing is wrong, and its first seconds are not held against it."""
    dog, clock = watchdog
    clock.now += 60
    assert dog.check("/cam/image", []) is None
    clock.now += 1
    assert dog.check("/cam/image", [publisher(RELIABLE)]) is None


def test_a_best_effort_camera_and_a_reliable_node_is_named_as_a_qos_mismatch(watchdog):
    """The one cause the node can see in the graph is named with the publisher and its QoS."""
    dog, clock = watchdog
    clock.now += 5
    line = dog.check("/cam/image", [publisher(qos_profile_sensor_data)])
    assert "QoS mismatch, /cam/driver (best_effort, volatile)" in line


def test_compatible_qos_blames_the_transport(watchdog, monkeypatch):
    """With matching QoS, lost UDP fragments and the profile variables are the likely cause."""
    dog, clock = watchdog
    dog.restart(qos_profile_sensor_data)
    monkeypatch.delenv("FASTRTPS_DEFAULT_PROFILES_FILE", raising=False)
    monkeypatch.delenv("FASTDDS_DEFAULT_PROFILES_FILE", raising=False)
    clock.now += 5
    line = dog.check("/cam/image", [publisher(RELIABLE)])
    assert "UDP fragments" in line and "neither variable is set here" in line

"""``ros2 launch`` of the shipped launch files, for real (skipped where launch/launch_ros are absent).

Modes: plain, lifecycle with autostart (launch's lifecycle events, so any distro's launch_ros),
lifecycle without autostart, namespace + remaps, params file (every mode), the Fast DDS profile
variables and their opt-out, and the bag replay with the package's player.
"""
from pathlib import Path

import pytest

pytest.importorskip("launch_ros")
pytest.importorskip("psutil")

from tests.bag_cases import write_case_bag  # noqa: E402
from tests.ros_helpers.launch_run import ROS2, run_launch  # noqa: E402
from tests.ros_helpers.process import REPO  # noqa: E402

pytestmark = [pytest.mark.ros, pytest.mark.slow,
              pytest.mark.skipif(ROS2 is None, reason="ros2 (ros2cli + ros2launch) is not installed")]
PROFILE = REPO / "config" / "fastdds_shm.xml"  # installed as share/modot_ros/config/ (a link here)
DEFAULT_TOPICS = ["--image", "/camera/color/image_rect", "--info", "/camera/color/camera_info"]


@pytest.fixture
def params(tmp_path):
    """A params file that makes the node fast and marks its outputs (frame_id) as configured by it."""
    path = tmp_path / "params.yaml"
    path.write_text("/**:\n  ros__parameters:\n    random_weights: true\n    device: cpu\n"
                    "    input_width: 128\n    input_height: 96\n    frame_id: from_params_file\n")
    return f"params_file:={path}"


def served(result: dict) -> bool:
    """Every frame the peer sent came back, in the frame the params file names."""
    seen = {e["stamp"]: e["frame_id"] for e in result["seen"]}
    return set(result["sent"]) <= set(seen) and set(seen.values()) == {"from_params_file"}


def test_plain_launch_serves_frames_and_sets_both_profile_variables(tmp_path, params):
    """The default (plain) node comes up active and gets the shipped profile under both names."""
    run = run_launch(tmp_path, ["modot.launch.py", params, "device:=cpu"], "launched", DEFAULT_TOPICS)
    assert run.result["state"] == "active" and served(run.result), run.log
    assert {name: Path(path).resolve() for name, path in run.node_env.items()} == {
        "FASTRTPS_DEFAULT_PROFILES_FILE": PROFILE, "FASTDDS_DEFAULT_PROFILES_FILE": PROFILE}


def test_lifecycle_autostart_activates_once(tmp_path, params):
    """use_lifecycle: launch configures, then activates on 'inactive'; a later deactivate holds."""
    run = run_launch(tmp_path, ["modot.launch.py", params, "device:=cpu", "use_lifecycle:=true"], "launched",
                     DEFAULT_TOPICS)
    assert run.result["state"] == "active" and served(run.result), run.log
    assert (run.result["deactivate"], run.result["after_deactivate"]) == ("inactive", "inactive")


def test_lifecycle_without_autostart_waits_for_a_manager(tmp_path, params):
    """autostart:=false leaves the node unconfigured for a lifecycle manager to drive."""
    run = run_launch(tmp_path, ["modot.launch.py", params, "device:=cpu", "use_lifecycle:=true",
                                "autostart:=false"], "managed", DEFAULT_TOPICS)
    assert run.result["states"] == {"start": "unconfigured", "configure": "inactive", "activate": "active"}
    assert set(run.result["sent"]) <= set(run.result["received"]), run.log


def test_namespace_and_remaps_without_profile(tmp_path, params):
    """namespace and the two topic remaps apply; dds_profile:=none leaves the variables unset."""
    run = run_launch(tmp_path, ["modot.launch.py", params, "device:=cpu", "namespace:=front",
                                "image_topic:=/front/raw", "camera_info_topic:=/front/info", "dds_profile:=none"],
                     "launched", ["--ns", "/front", "--image", "/front/raw", "--info", "/front/info"])
    assert run.result["state"] == "active" and served(run.result), run.log
    assert run.node_env == {}


def test_bad_dds_profile_is_one_line(tmp_path, params):
    """A dds_profile that is not a file stops the launch before any node, saying what to pass."""
    with pytest.raises(AssertionError, match="started no modot node"):
        run_launch(tmp_path, ["modot.launch.py", params, "dds_profile:=/nonexistent.xml"], "listen",
                   ["--count", "1"], seconds=40)
    assert "dds_profile:=/nonexistent.xml is not a file" in (tmp_path / "launch.log").read_text()


def test_replay_launch_plays_a_bag_into_the_node(tmp_path, params):
    """replay.launch.py with player:=modot: every bag frame comes out, under namespace modot, sim time."""
    bag = write_case_bag(tmp_path / "bag", n=6)
    run = run_launch(tmp_path, ["replay.launch.py", params, f"bag:={bag}", "rate:=0.5", "player:=modot",
                                "image_topic:=/camera/image_raw", "camera_info_topic:=/camera/camera_info"],
                     "listen", ["--ns", "/modot", "--count", "6"])
    assert len({e["stamp"] for e in run.result["seen"]}) == 6, run.log
    assert Path(run.node_env["FASTRTPS_DEFAULT_PROFILES_FILE"]).resolve() == PROFILE

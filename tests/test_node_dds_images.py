"""Camera-sized images over real DDS, and the node's warning when images do not arrive.

The set-up is the README's (DDS for camera images): both Fast DDS profile variables in every
process (``ros_env``), the node's default best-effort input, a reliable camera in another process.
"""
import pytest

from modot_ros.ros.dds_profile import silent_input_reason
from tests.ros_helpers.node_run import run_scenario

pytestmark = pytest.mark.ros
# the network input stays small: this is about transport, not model speed
NODE = ["--ros-args", "-p", "random_weights:=true", "-p", "device:=cpu", "-p", "input_width:=128",
        "-p", "input_height:=96", "-p", "backend:=torch", "-p", "output_scale:=0.25"]


def test_640x480_and_1280x720_rgb8_frames_are_all_answered(tmp_path):
    """0.9 MB and 2.8 MB images from another process: every frame gets its depth image."""
    run = run_scenario(tmp_path, "large", NODE)
    sent, answered = run.result["sent"], run.result["answered"]
    assert sorted(set(sent.values())) == ["1280x720", "640x480"]
    assert set(sent) <= set(answered), f"unanswered: {sorted(set(sent) - set(answered))}\n{run.log}"
    assert "no image arrived" not in run.log


def test_silent_image_topic_is_diagnosed(tmp_path):
    """A publisher the node cannot match: /diagnostics and the log name the QoS mismatch and the fix."""
    run = run_scenario(tmp_path, "silent", [*NODE, "-p", "input_qos:=DEFAULT"])
    warning = run.result["diag"].get("last_error", "")
    assert "no image arrived on '/image'" in warning and "QoS mismatch" in warning, run.result
    assert "/modot_test_peer (best_effort, volatile)" in warning and "input_qos:=SENSOR_DATA" in warning
    assert warning in run.log


@pytest.mark.parametrize("mismatch, profile_set, expected, absent", [
    (["/cam/driver (best_effort, volatile)"], True, "QoS mismatch, /cam/driver (best_effort, volatile)", "UDP"),
    ([], True, "FASTRTPS_DEFAULT_PROFILES_FILE (Fast DDS 2.x) and FASTDDS_DEFAULT_PROFILES_FILE", "this node"),
    ([], False, "and for this node (neither variable is set here)", "QoS"),
])
def test_silent_input_reason_names_the_likely_cause(mismatch, profile_set, expected, absent):
    """The warning names the cause the node can see, and the fix, in one line."""
    text = silent_input_reason("/cam/image", 1, 3.2, mismatch, profile_set)
    assert text.startswith("no image arrived on '/cam/image' for 3 s although it has 1 publisher(s): ")
    assert expected in text and absent not in text and "\n" not in text

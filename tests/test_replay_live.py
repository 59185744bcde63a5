"""Live replay over real DDS (loopback): bag player -> node -> recorder -> evaluation.

The node is a stand-in (``tests/replay_echo_node.py``) that answers through the node's own
``frame_outputs`` with a known prediction, so drops and metrics are known exactly.
"""
import json
import sys

import pytest

from modot_ros.bags.io import open_bag
from modot_ros.ros.tools.replay import replay_bag
from tests.bag_cases import write_case_bag

pytestmark = [pytest.mark.ros, pytest.mark.slow]


@pytest.mark.parametrize("transport", ["raw", "compressed"])
def test_replay_counts_drops_latency_and_scores_the_node(tmp_path, monkeypatch, transport):
    """Every 3rd frame unanswered -> 3 drops of 9; answered frames score perfectly; latency measured.

    compressed: a robot's bag (png image_raw/compressed, compressedDepth 16UC1 ground truth).
    """
    monkeypatch.setenv("ROS_DOMAIN_ID", str(60 + (hash(str(tmp_path)) % 30)))
    monkeypatch.setenv("ROS_LOG_DIR", str(tmp_path / "ros_log"))
    packed = dict(image_codec="png", compressed_depth=True, depth_encoding="16UC1") if transport == "compressed" else {}
    bag = write_case_bag(tmp_path / "in", n=9, storage="sqlite3", period_ns=50_000_000, **packed)
    echo = [sys.executable, "-m", "tests.replay_echo_node", "--skip-every", "3", "--transport", transport,
            "--ros-args", "-r", "image:=/camera/image_raw", "-r", "camera_info:=/camera/camera_info",
            "-p", "use_sim_time:=true"]
    summary = replay_bag(bag, tmp_path / "out", command=echo, quiet_s=1.0, startup_timeout=60)
    run = summary["run"]
    assert (run["frames_in"], run["frames_out"], run["drops"]) == (9, 6, 3), (tmp_path / "out" / "logs").iterdir()
    assert 0 < run["latency_ms_p50"] <= run["latency_ms_p95"] < 2000
    assert summary["depth"]["abs_rel"] < 1e-6 and summary["boundary"]["ods_f"] > 0.95
    with open_bag(tmp_path / "out" / "recorded_bag") as reader:
        counts = {c.topic: c.msgcount for c in reader.connections}
    assert counts["/depth/image"] == 6 and counts["/occlusion/mask"] == 6
    saved = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert saved["run"]["drops"] == 3 and (tmp_path / "out" / "report.html").is_file()


def test_replayed_node_is_not_lazy_unless_asked():
    """A lazy node skips frames before it matches the recorder; a replay would count them as drops."""
    from modot_ros.ros.tools.replay import node_command
    command = node_command("/camera/image_raw", "/camera/camera_info", "", ["lazy:=true"])
    assert "lazy:=false" in command and command.index("lazy:=false") < command.index("lazy:=true")

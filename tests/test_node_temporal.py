"""temporal_filter odometry in the running node over real DDS: fusion with a pose, one line without."""
import numpy as np
import pytest

from tests.ros_helpers.node_run import run_scenario

pytestmark = pytest.mark.ros
NODE = ["--ros-args", "-p", "device:=cpu", "-p", "input_width:=128", "-p", "input_height:=96", "-p", "threads:=1",
        "-p", "diagnostics_period:=0.2", "-p", "temporal_filter:=odometry"]


@pytest.fixture(scope="module")
def odometry_run(tmp_path_factory):
    return run_scenario(tmp_path_factory.mktemp("temporal"), "odometry", NODE, seconds=240,
                        module="tests.ros_helpers.temporal_scenarios")


def test_frames_with_a_pose_are_fused_and_grow_more_confident(odometry_run):
    """A still camera with its pose: frames after the first fuse, and the confidence rises with them."""
    rows = odometry_run.result["with_pose"]
    assert not any(r.get("missing") for r in rows), rows
    assert [r["diag"]["temporal_step"] for r in rows[1:]] == ["fused"] * 3, [r["diag"] for r in rows]
    assert float(rows[-1]["diag"]["temporal_fused"]) > 0.5
    assert rows[-1]["confidence"] > rows[0]["confidence"] * 1.01
    # the same image each time: the fused depth stays where the single frame put it
    assert rows[-1]["median_ratio"] == pytest.approx(rows[0]["median_ratio"], rel=0.01)


def test_a_missing_pose_resets_with_one_line(odometry_run):
    """Frames without a camera pose reset the filter; the node says so once, in its log and /diagnostics."""
    rows = odometry_run.result["without_pose"]
    assert [r["diag"]["temporal_step"] for r in rows] == ["reset", "reset"]
    assert "no camera pose" in rows[0]["diag"]["temporal_reason"]
    assert rows[0]["diag"]["last_error"].startswith("temporal_filter odometry: reset, no camera pose")
    assert odometry_run.log.count("temporal_filter odometry: reset") == 1, odometry_run.log
    assert np.isfinite(rows[-1]["median_ratio"]) and odometry_run.alive_after


def test_fusion_resumes_quietly_when_the_pose_is_back(odometry_run):
    """The first frame with a pose again starts afresh (no second line), the next one fuses."""
    rows = odometry_run.result["pose_back"]
    assert [r["diag"]["temporal_step"] for r in rows] == ["reset", "fused"], [r["diag"] for r in rows]
    assert rows[0]["diag"]["temporal_reason"] == "first frame"
    assert odometry_run.log.count("temporal_filter odometry: reset") == 1, odometry_run.log

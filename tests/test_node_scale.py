"""Metric scale in the running node over real DDS.

Range, sparse depth and camera height sources, with smoothing, outlier frames, the hold and the
fallback to the model's scale, and /diagnostics.
"""
import importlib.util
import math

import numpy as np
import pytest

from tests.ros_helpers.node_run import run_scenario
from tests.ros_helpers.scale_scenarios import HOLD_S, RANGE_UV, scene

pytestmark = pytest.mark.ros
MODULE = "tests.ros_helpers.scale_scenarios"
# the shipped weights (a real scene needs a real model), small and single-threaded on the shared CPU
NODE = ["--ros-args", "-p", "device:=cpu", "-p", "input_width:=128", "-p", "input_height:=96", "-p", "threads:=1",
        "-p", "diagnostics_period:=0.2", "-p", f"scale_hold:={HOLD_S}", "-p", "scale_smoothing:=0.5",
        "-p", "scale_max_age:=0.05"]  # measurements share their image's stamp: an older one means silence


@pytest.fixture(scope="module")
def frame():
    return scene()


def _beam_depth(frame) -> float:
    row, col = round(RANGE_UV[1] * 96 - 0.5), round(RANGE_UV[0] * 128 - 0.5)
    return float(frame["depth"][row, col])


@pytest.fixture(scope="module")
def range_run(tmp_path_factory):
    args = [*NODE, "-p", "scale_source:=range", "-p", f"range_pixel_u:={RANGE_UV[0]}",
            "-p", f"range_pixel_v:={RANGE_UV[1]}"]
    return run_scenario(tmp_path_factory.mktemp("scale_range"), "range", args, seconds=240, module=MODULE)


def test_a_range_beam_sets_the_depth_at_its_pixel(range_run, frame):
    """Trusted fits: the published depth at the beam's pixel is the beam's planar depth.

    The fit takes the median prediction over the beam's 0.05 rad cone (about 22 px here), so the
    centre pixel agrees within the prediction's local variation (0.12 % measured).
    """
    for row in range_run.result["fit"]:
        assert row["diag"]["scale_mode"] == "fit" and row["diag"]["scale_source"] == "range", row["diag"]
        assert row["at_beam"] == pytest.approx(_beam_depth(frame), rel=5e-3)
        assert {"scale", "scale_inliers", "scale_residual", "scale_fit_age_s"} <= set(row["diag"])


def test_smoothing_and_outlier_frames(range_run, frame):
    """A 1.2x range moves the scale half-way in log space (smoothing 0.5); a 4x jump is ignored."""
    smoothed = range_run.result["smoothed"]
    assert smoothed["at_beam"] == pytest.approx(range_run.result["fit"][-1]["at_beam"] * math.sqrt(1.2), rel=1e-3)
    outlier = range_run.result["outlier"]
    assert outlier["diag"]["scale_mode"] == "outlier"
    assert outlier["at_beam"] == pytest.approx(smoothed["at_beam"], rel=1e-4)


def test_a_silent_rangefinder_holds_then_falls_back_with_lower_confidence(range_run):
    """Silence: the last scale for scale_hold s, then the model's own, one log line; confidence halved."""
    result = range_run.result
    fit, smoothed = result["fit"][-1], result["smoothed"]
    for row in result["silent"]:
        assert row["diag"]["scale_mode"] == "held" and row["at_beam"] == pytest.approx(smoothed["at_beam"], rel=1e-4)
        assert row["confidence"] == pytest.approx(0.5 * fit["confidence"], rel=1e-3)
    raw = fit["at_beam"] / float(fit["diag"]["scale"])
    for row in result["fallback"]:
        assert row["diag"]["scale_mode"] == "model" and float(row["diag"]["scale"]) == 1.0
        assert row["at_beam"] == pytest.approx(raw, rel=2e-3)
        assert row["confidence"] == pytest.approx(0.5 * fit["confidence"], rel=1e-3)
    assert "publishing the model's own scale" in range_run.log and range_run.alive_after


def test_sparse_depth_in_metres_or_millimetres_and_a_bad_message(tmp_path):
    """A registered sparse depth image (32FC1 or 16UC1) makes the depth metric.

    A wrong encoding is logged naming the topic and the frame is published at the held scale; then
    the fallback.
    """
    run = run_scenario(tmp_path, "sparse_depth", [*NODE, "-p", "scale_source:=sparse_depth"], seconds=240,
                       module=MODULE)
    result = run.result
    for row in [*result["fit"], result["millimetres"]]:
        assert row["diag"]["scale_mode"] == "fit" and int(row["diag"]["scale_inliers"]) >= 100
        assert abs(row["median_ratio"] - 1) < 0.05, row
    assert result["bad"]["diag"]["scale_mode"] == "held"
    assert "scale source '/scale/depth' (sparse_depth)" in run.log and "rgb8" in run.log
    assert all(row["diag"]["scale_mode"] == "model" for row in result["fallback"])
    assert run.alive_after


def test_camera_height_gives_the_scale(tmp_path, frame):
    """The known mount height and pitch bring the depth's median ratio to the GT within 15 %."""
    args = [*NODE, "-p", "scale_source:=camera_height", "-p", f"camera_height:={frame['height']:.4f}",
            "-p", f"camera_pitch:={frame['pitch']:.2f}"]
    result = run_scenario(tmp_path, "camera_height", args, seconds=240, module=MODULE).result
    for row in result["fit"]:
        assert row["diag"]["scale_mode"] == "fit", row["diag"]
        assert abs(row["median_ratio"] - 1) < 0.15, row
    assert np.isfinite(float(result["fit"][0]["diag"]["scale_residual"]))


def test_a_laser_scan_in_the_cameras_horizontal_plane(tmp_path):
    """A LaserScan whose returns project onto the principal-point row makes the depth metric.

    No tf publisher here (and no tf2_ros on PyPI): the pose comes from laser_extrinsic, as
    /diagnostics and, where tf2_ros is not importable, one log line say.
    """
    run = run_scenario(tmp_path, "laser_scan", [*NODE, "-p", "scale_source:=laser_scan"], seconds=240, module=MODULE)
    for row in run.result["fit"]:
        assert row["diag"]["scale_mode"] == "fit" and int(row["diag"]["scale_inliers"]) >= 10, row["diag"]
        assert abs(row["median_ratio"] - 1) < 0.15, row
        assert row["diag"]["scale_laser_pose"] == "laser_extrinsic"
    if importlib.util.find_spec("tf2_ros") is None:
        assert run.log.count("tf2_ros is not importable here; the lidar pose comes from the laser_extrinsic") == 1

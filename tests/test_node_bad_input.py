"""Bad input over real DDS: each kind is refused with one clear log line naming the problem.

The node keeps running and serving the good frames in between (one node for the module).
"""
import re

import pytest

from modot_ros.ros.node_config import DEFAULT_FRAME_ID
from tests.ros_helpers.node_run import FAST, run_scenario

pytestmark = pytest.mark.ros
REASONS = {  # kind -> what the node's log line must say (regular expression)
    "encoding": r"unsupported image encoding 'yuv422'",
    "info_size": "camera_info describes 64x48 images but the image is 128x96",
    "zero_size": "image has zero size",
    "nan_intrinsics": r"camera_info has invalid intrinsics k=\[(np.float64\()?nan",
    "nan_k": r"camera_info has invalid intrinsics k=\[nan, 0\.0, 63\.5, .*K must be finite",
    "zero_intrinsics": r"camera_info has invalid intrinsics k=\[(np.float64\()?0.0",
    "out_of_order": "is not newer than the previous",
    "huge": r"image 200x200 exceeds max_input_pixels=20000",
    "wrong_step": r"image step=383 is smaller than width\*bytes_per_pixel=384",
    "short_data": "image data has 18432 bytes",
    "missing_info": "image without camera_info",
    "parameter": r"parameter change refused: occlusion_threshold=2.0 is outside \[0.0, 1.0\]",
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_scenario(tmp_path_factory.mktemp("bad"), "bad_inputs",
                        ["--ros-args", *FAST, "-p", "max_input_pixels:=20000"])


@pytest.mark.parametrize("kind", sorted(REASONS))
def test_bad_input_is_logged_with_its_reason(run, kind):
    """A user reading the log learns exactly what was wrong with the input."""
    assert re.search(REASONS[kind], run.log), run.log


def test_node_survives_and_serves_every_good_frame(run):
    """Bad frames produce no output, good frames all do, and the process stays up."""
    assert run.alive_after
    received = set(run.result["received"])
    assert set(run.result["good"]) <= received
    assert not received & set(run.result["bad"].values())
    assert run.result["param"]["successful"] is False
    assert int(run.result["diag"]["rejected"]) >= 9


def test_odd_headers_are_served_with_one_warning_each(run):
    """Stamp 0, an empty frame_id and a future stamp are served, warned about once, and keep latency sane."""
    odd, frame_ids = run.result["odd"], {int(k): v for k, v in run.result["frame_ids"].items()}
    assert {odd["stamp_zero"], odd["empty_frame_id"], odd["ahead"]} <= set(run.result["received"])
    assert run.result["zero_outputs"] == 2  # an unstamped stream is not dropped as "not newer"
    assert frame_ids[odd["empty_frame_id"]] == DEFAULT_FRAME_ID
    for line in ("image header.stamp is 0", "have an empty header.frame_id", "ahead of the node clock"):
        assert run.log.count(line) == 1, line
    assert 0 < float(run.result["diag"]["latency_max_ms"]) < 60_000

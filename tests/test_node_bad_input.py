"""Bad input over real DDS: each kind is refused with one clear log line naming the problem.

The node keeps running and serving the good frames in between (one node for the module).
"""
import re

import pytest

from tests.ros_helpers.node_run import FAST, run_scenario

pytestmark = pytest.mark.ros
REASONS = {  # kind -> what the node's log line must say (regular expression)
    "encoding": r"unsupported image encoding 'yuv422'",
    "info_size": "camera_info describes 64x48 images but the image is 128x96",
    "zero_size": "image has zero size",
    "nan_intrinsics": r"camera_info has invalid intrinsics k=\[(np.float64\()?nan",
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

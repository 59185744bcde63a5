"""image_transport:=compressed over real DDS: jpeg/png on <image>/compressed, a cut-off frame in between."""
import pytest

from tests.ros_helpers.node_peer import H, W
from tests.ros_helpers.node_run import FAST, run_scenario

pytestmark = pytest.mark.ros


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_scenario(tmp_path_factory.mktemp("compressed"), "compressed",
                        ["--ros-args", "-r", "image:=/cam/image", *FAST, "-p", "image_transport:=compressed"],
                        ["--image", "/cam/image"])


def test_compressed_frames_are_decoded_and_answered_at_their_size(run):
    """Every jpeg and png frame comes back as depth of the decoded size; the raw topic is left alone."""
    good = [stamp for stamps in run.result["good"].values() for stamp in stamps]
    sizes = run.result["sizes"]
    assert len(good) == 6 and all(sizes.get(str(stamp)) == [W, H] for stamp in good), sizes
    assert run.result["raw_subscribers"] == 0


def test_cut_off_payload_is_one_line_and_the_node_keeps_serving(run):
    """A jpeg that lost its tail: no output for it, one log line naming the problem, later frames served."""
    assert str(run.result["cut"]) not in run.result["sizes"]
    lines = [line for line in run.log.splitlines() if "cannot be decoded" in line]
    assert len(lines) == 1 and "format 'rgb8; jpeg compressed bgr8'" in lines[0], run.log
    assert "the JPEG is truncated" in lines[0] and run.alive_after
    assert int(run.result["diag"]["rejected"]) == 1

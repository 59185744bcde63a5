"""Overload: 30 Hz input into a slow model keeps latency bounded and counts the dropped frames."""
import pytest

from tests.ros_helpers.node_run import FAST, run_scenario

pytestmark = pytest.mark.ros
DELAY_MS = 250


@pytest.fixture(scope="module", params=[2, 1], ids=["pipeline_threads=2", "pipeline_threads=1"])
def run(request, tmp_path_factory):
    return run_scenario(tmp_path_factory.mktemp("overload"), "overload",
                        ["--ros-args", *FAST, "-p", f"debug_delay_ms:={DELAY_MS}",
                         "-p", f"pipeline_threads:={request.param}"])


def test_latency_stays_bounded(run):
    """Only the freshest frame is processed: latency never grows past a couple of frame times."""
    latencies = run.result["latencies"]
    assert len(latencies) >= 4
    assert max(latencies) < 3 * DELAY_MS / 1e3 + 0.5, latencies
    assert latencies[-1] < latencies[0] + 0.3, latencies  # no backlog building up


def test_drops_are_counted(run):
    """Diagnostics tell the user how many frames were skipped because the model was busy."""
    assert int(run.result["diag"]["dropped_frames"]) >= run.result["sent"] - 2 * len(run.result["latencies"]) - 10
    assert int(run.result["diag"]["dropped_frames"]) >= 30

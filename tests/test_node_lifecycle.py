"""Lifecycle mode and model-loading failures of the node process."""
import os

import pytest

from tests.ros_helpers.node_run import FAST, run_scenario
from tests.ros_helpers.process import Deadline, ros_env, start

pytestmark = pytest.mark.ros


def test_lifecycle_transitions_gate_processing(tmp_path):
    """Only an active node publishes; configure/activate/deactivate/cleanup all succeed."""
    run = run_scenario(tmp_path, "lifecycle", ["--lifecycle", "--ros-args", *FAST])
    assert run.result["states"] == {"start": "unconfigured", "configure": "inactive", "activate": "active",
                                    "deactivate": "inactive", "cleanup": "unconfigured"}
    assert run.result["received"] == {"configure": 0, "activate": 2, "deactivate": 0, "cleanup": 0}


def test_lifecycle_configure_fails_on_missing_model(tmp_path):
    """A missing checkpoint fails configure with one line naming the file; the node stays up."""
    run = run_scenario(tmp_path, "lifecycle_bad_model",
                       ["--ros-args", "-p", "use_lifecycle:=true", "-p", "model_path:=/nonexistent/m.pt"])
    assert run.result == {"start": "unconfigured", "configure": "unconfigured"}
    assert "cannot load the model" in run.log and "/nonexistent/m.pt" in run.log


@pytest.mark.parametrize("args, text", [
    (["-p", "model_path:=/nonexistent/m.pt"], "/nonexistent/m.pt"),
    (["-p", "edge_mode:=blurry"], "edge_mode='blurry'; allowed: mixture, mean"),
])
def test_plain_node_exits_nonzero_with_one_line(tmp_path, args, text):
    """Without lifecycle, a bad model file or parameter stops the node with a clear message."""
    env = ros_env(domain_id=150 + os.getpid() % 50, tmp_path=tmp_path)
    node = start(["-m", "modot_ros.ros.node", "--ros-args", *args], env, tmp_path / "node.log")
    code = Deadline(90).wait(node)
    log = (tmp_path / "node.log").read_text()
    assert code != 0 and text in log, log

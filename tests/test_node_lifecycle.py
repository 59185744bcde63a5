"""Lifecycle mode and model-loading failures of the node process."""
import os
import signal
import time

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


def test_repeated_sigint_ends_the_node_cleanly(tmp_path):
    """Ctrl-C under launch reaches the node twice (launch and the process group): exit 0, no traceback."""
    env = ros_env(domain_id=100 + os.getpid() % 50, tmp_path=tmp_path)
    log = tmp_path / "node.log"
    node = start(["-m", "modot_ros.ros.node", "--ros-args", *FAST], env, log)
    deadline = Deadline(300)  # a loaded 2-core machine takes minutes to import torch
    while "model loaded" not in log.read_text() and node.poll() is None and deadline.remaining():
        time.sleep(0.1)
    assert node.poll() is None, log.read_text()
    time.sleep(0.5)  # spinning
    for _ in range(6):  # some land in the clean-up, where a traceback used to come from
        if node.poll() is None:
            node.send_signal(signal.SIGINT)
        time.sleep(0.02)
    code = deadline.wait(node)
    text = log.read_text()
    assert code == 0 and "Traceback" not in text and "KeyboardInterrupt" not in text, text

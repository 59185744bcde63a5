"""The node serves frames through the onnxruntime backend and refuses an impossible backend in one line."""
import os

import pytest

from tests.ros_helpers.node_run import FAST, run_scenario
from tests.ros_helpers.process import Deadline, ros_env, start

pytestmark = pytest.mark.ros
pytest.importorskip("onnxruntime")


def test_node_publishes_with_backend_onnxruntime(tmp_path):
    """backend:=onnxruntime exports the graph on configure and then publishes every frame."""
    run = run_scenario(tmp_path, "lifecycle", ["--lifecycle", "--ros-args", *FAST, "-p", "backend:=onnxruntime",
                                               "-p", f"onnx_cache:={tmp_path / 'cache'}", "-p", "threads:=1"])
    assert run.result["received"]["activate"] == 2
    assert "onnxruntime (CPUExecutionProvider)" in run.log
    assert len(list((tmp_path / "cache").glob("*.onnx"))) == 1


def test_node_with_backend_auto_reports_its_choice(tmp_path):
    """backend:=auto times the backends on configure, logs the choice once and reports it on /diagnostics."""
    run = run_scenario(tmp_path, "lifecycle", ["--lifecycle", "--ros-args", *FAST, "-p", "backend:=auto",
                                               "-p", f"onnx_cache:={tmp_path / 'cache'}", "-p", "threads:=1"])
    assert run.result["received"]["activate"] == 2
    diag = run.result["diag_active"]
    assert diag["backend_choice"].startswith(f"auto chose {diag['backend']}: onnxruntime "), diag
    assert run.log.count("backend auto chose") == 1, run.log


def test_tensorrt_without_gpu_stops_the_node_with_one_line(tmp_path):
    """Asking for TensorRT on a CPU-only machine says what is missing instead of a traceback."""
    env = ros_env(domain_id=150 + os.getpid() % 50, tmp_path=tmp_path)
    node = start(["-m", "modot_ros.ros.node", "--ros-args", *FAST, "-p", "backend:=tensorrt"], env,
                 tmp_path / "node.log")
    code = Deadline(90).wait(node)
    log = (tmp_path / "node.log").read_text()
    assert code != 0 and "backend tensorrt needs a CUDA device" in log, log
    assert "Traceback" not in log

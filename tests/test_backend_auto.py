"""backend auto: every candidate that starts is timed at configure and the fastest kept; failures say why."""
import logging
import time

import pytest

pytest.importorskip("onnxruntime")

import modot_ros.backends as backends  # noqa: E402
from modot_ros.backends import auto  # noqa: E402
from modot_ros.inference import DepthBoundaryEstimator  # noqa: E402
from tests.test_backends import FRAMES, TINY  # noqa: E402


class Wrapped:
    """A backend's forward with ``before()`` run ahead of every call (a delay, a failure)."""

    choice = ""

    def __init__(self, forward, before) -> None:
        self.name, self._forward, self._before = forward.name, forward, before

    def __call__(self, x):
        self._before()
        return self._forward(x)


def wrapping(names: set[str], before):
    """A ``_build`` that wraps the forwards of ``names`` with ``before``."""
    build = backends._build
    return lambda name, **kwargs: (Wrapped(build(name, **kwargs), before) if name in names
                                   else build(name, **kwargs))


def test_auto_keeps_the_fastest_backend(tmp_path, monkeypatch, caplog):
    """With onnxruntime and torch made slow, auto picks openvino and says why in one line."""
    pytest.importorskip("openvino")
    monkeypatch.setattr(backends, "_build", wrapping({"onnxruntime", "torch"}, lambda: time.sleep(0.25)))
    with caplog.at_level(logging.INFO, logger="modot_ros.backends"):
        estimator = DepthBoundaryEstimator.from_random(TINY, device="cpu", warmup=0, backend="auto",
                                                       onnx_cache=tmp_path)
    assert estimator.backend == "openvino (CPU)"
    choice = estimator.backend_choice
    assert choice.startswith("auto chose openvino (CPU): onnxruntime ") and "median of 5" in choice
    assert [name.split()[0] for name in choice.split(": ", 1)[1].split(" ms")[0].split(", ")] == \
        ["onnxruntime", "openvino", "torch"]
    assert [r.getMessage() for r in caplog.records] == [f"backend {choice}"]
    rgb, intr = FRAMES[0]
    assert estimator.predict(rgb, intr).depth.shape == rgb.shape[:2]


def test_a_backend_failing_while_timed_is_skipped_with_one_line(tmp_path, monkeypatch, caplog):
    """A backend that starts but cannot run a frame is not chosen; the others are still timed."""
    def broken():
        raise RuntimeError("simulated failure at the first forward\nsecond line not logged")

    monkeypatch.setattr(backends, "_build", wrapping({"onnxruntime"}, broken))
    with caplog.at_level(logging.WARNING, logger="modot_ros.backends"):
        estimator = DepthBoundaryEstimator.from_random(TINY, device="cpu", warmup=0, backend="auto",
                                                       onnx_cache=tmp_path)
    assert not estimator.backend.startswith("onnxruntime") and "unavailable: onnxruntime" in estimator.backend_choice
    assert [r.getMessage() for r in caplog.records] == [
        "backend auto: onnxruntime unavailable (simulated failure at the first forward); trying the next"]


def test_a_losing_torch_leaves_the_torch_threads_as_they_were(tmp_path, monkeypatch):
    """threads reaches torch's process-wide pool only when torch runs the forward, as when named."""
    import torch

    monkeypatch.setattr(backends, "_build", wrapping({"torch"}, lambda: time.sleep(0.25)))
    before = torch.get_num_threads()
    try:
        estimator = DepthBoundaryEstimator.from_random(TINY, device="cpu", warmup=0, backend="auto",
                                                       threads=before + 1, onnx_cache=tmp_path)
        assert estimator.backend != "torch" and torch.get_num_threads() == before
    finally:
        torch.set_num_threads(before)


def test_auto_with_compile_is_torch_untimed(tmp_path, monkeypatch):
    """compile applies to torch only, so auto has nothing to compare and starts torch directly."""
    monkeypatch.setattr(auto, "median_ms", lambda *a, **k: pytest.fail("timed"))
    monkeypatch.setattr("torch.compile", lambda model: model)  # compiling is not what is tested here
    estimator = DepthBoundaryEstimator.from_random(TINY, device="cpu", warmup=0, backend="auto", compile=True,
                                                   onnx_cache=tmp_path)
    assert estimator.backend == "torch" and estimator.backend_choice == ""


def test_no_backend_at_all_is_one_error(monkeypatch):
    """If nothing starts (not even torch) configure fails with one line, not the last traceback."""
    def nothing(name, **kwargs):
        raise ValueError(f"{name} is missing")

    monkeypatch.setattr(backends, "_build", nothing)
    with pytest.raises(ValueError, match=r"backend auto: no backend started \(tried onnxruntime, openvino, torch\)"):
        DepthBoundaryEstimator.from_random(TINY, device="cpu", warmup=0, backend="auto")


def test_an_openvino_device_is_timed_against_torch_on_the_cpu():
    """With device npu/gpu auto compares OpenVINO on that device with torch on the CPU (the fallback)."""
    assert backends.auto_order("cpu", "NPU") == ["openvino", "torch"]

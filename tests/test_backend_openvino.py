"""Backend openvino gives torch's outputs; its IR cache is converted once, checked and rebuilt when damaged."""
import logging
import sys

import numpy as np
import pytest

pytest.importorskip("onnxruntime")  # every graph is checked against torch with onnxruntime first
ov = pytest.importorskip("openvino")

from modot_ros.backends import openvino_forward, split_device  # noqa: E402
from modot_ros.backends.openvino_forward import check_device, compile_properties  # noqa: E402
from modot_ros.inference import DepthBoundaryEstimator  # noqa: E402
from tests.test_backends import FRAMES, TINY, assert_same_outputs  # noqa: E402


@pytest.fixture(scope="module", params=[(160, 128), (224, 96)], ids=lambda s: f"net{s[0]}x{s[1]}")
def pair(request, tmp_path_factory):
    """Shipped weights at a network input size, through torch and through OpenVINO on the CPU."""
    options = dict(device="cpu", warmup=0, input_size=request.param)
    return (DepthBoundaryEstimator.from_checkpoint(None, **options),
            DepthBoundaryEstimator.from_checkpoint(None, backend="openvino", threads=1,
                                                   onnx_cache=tmp_path_factory.mktemp("ov"), **options))


@pytest.mark.parametrize("frame", range(len(FRAMES)))
def test_openvino_matches_torch(pair, frame):
    """backend openvino gives the node the depth, boundaries and edge pixels torch gives."""
    reference, candidate = pair
    assert candidate.backend == "openvino (CPU)" and candidate.backend_choice == ""
    rgb, intr = FRAMES[frame]
    assert_same_outputs(reference.predict(rgb, intr), candidate.predict(rgb, intr))


def test_openvino_batches_match_torch(pair):
    """Offline evaluation batches frames: a second batch size compiles its own model, same outputs."""
    reference, candidate = pair
    images, intrs = [f[0] for f in FRAMES], [f[1] for f in FRAMES]
    for ref, got in zip(reference.predict_batch(images, intrs), candidate.predict_batch(images, intrs)):
        assert_same_outputs(ref, got)


def tiny(cache, **options) -> DepthBoundaryEstimator:
    return DepthBoundaryEstimator.from_random(TINY, device="cpu", warmup=0, backend="openvino",
                                              onnx_cache=cache, **options)


def ir_files(cache) -> list:
    return sorted(p.name for p in (cache / "openvino").iterdir() if p.is_file())


def test_ir_is_converted_once_then_reused(tmp_path, monkeypatch):
    """The second start loads the cached IR (xml, bin, record) instead of converting again."""
    tiny(tmp_path)
    assert [name.rsplit(".", 1)[1] for name in ir_files(tmp_path)] == ["bin", "json", "xml"]
    monkeypatch.setattr(openvino_forward, "_convert", lambda *a, **k: pytest.fail("converted again"))
    assert tiny(tmp_path).backend == "openvino (CPU)"


@pytest.mark.parametrize("damage", ["garbage xml", "truncated bin", "stale key", "no record"])
def test_damaged_ir_is_rebuilt_with_one_line(tmp_path, monkeypatch, caplog, damage):
    """A corrupt or stale IR is converted again with one warning line, never run."""
    tiny(tmp_path)
    converts, convert = [], openvino_forward._convert
    monkeypatch.setattr(openvino_forward, "_convert", lambda *a, **k: converts.append(a) or convert(*a, **k))
    xml = next((tmp_path / "openvino").glob("*.xml"))
    binary, record = xml.with_suffix(".bin"), xml.with_suffix(".json")
    good = (xml.read_bytes(), binary.read_bytes())
    if damage == "garbage xml":
        xml.write_bytes(b"<not an IR")
    elif damage == "truncated bin":
        binary.write_bytes(good[1][: len(good[1]) // 2])
    elif damage == "stale key":
        record.write_text(record.read_text().replace('"key": "', '"key": "0'))
    else:
        record.unlink()
    with caplog.at_level(logging.WARNING, logger="modot_ros.backends"):
        estimator = tiny(tmp_path)
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert lines == [f"OpenVINO cache {xml} is stale or corrupt: converting it again"]
    # the weights come back bit for bit; the xml's generated layer names may differ between conversions
    assert len(converts) == 1 and binary.read_bytes() == good[1] and xml.read_bytes().startswith(b"<?xml")
    rgb, intr = FRAMES[1]
    reference = DepthBoundaryEstimator.from_random(TINY, device="cpu", warmup=0).predict(rgb, intr)
    np.testing.assert_allclose(estimator.predict(rgb, intr).depth_mean, reference.depth_mean, rtol=1e-3)


def test_threads_set_the_compiled_models_inference_threads(tmp_path):
    """threads is OpenVINO's INFERENCE_NUM_THREADS; fp32 and unpinned so the node's other threads share the cores."""
    network = tiny(tmp_path, threads=1)._network
    compiled = network._request(1).get_compiled_model()
    assert compiled.get_property("INFERENCE_NUM_THREADS") == 1
    assert str(compiled.get_property("INFERENCE_PRECISION_HINT")) == str(ov.Type.f32)
    assert compiled.get_property("ENABLE_CPU_PINNING") is False
    gpu = compile_properties("GPU", "auto", 2, tmp_path)
    assert not any("THREADS" in str(key) for key in gpu) and any("CACHE_DIR" in str(key) for key in gpu)


def test_device_names_map_to_openvino_devices():
    """device gpu / gpu.1 / npu reach OpenVINO's GPU / GPU.1 / NPU; torch's devices pass through."""
    assert split_device("gpu") == ("cpu", "GPU") and split_device("GPU.1") == ("cpu", "GPU.1")
    assert split_device("npu") == ("cpu", "NPU") and split_device("cuda:0") == ("cuda:0", None)
    check_device("GPU", ["CPU", "GPU.0", "GPU.1"])  # a bare GPU means GPU.0
    with pytest.raises(ValueError, match="device gpu.2 is not available to OpenVINO"):
        check_device("GPU.2", ["CPU", "GPU.0", "GPU.1"])


@pytest.mark.parametrize("options, text", [
    ({"device": "npu", "backend": "openvino"}, r"device npu is not available to OpenVINO \(it sees CPU"),
    ({"device": "gpu", "backend": "onnxruntime"}, "device gpu is reached through OpenVINO only"),
    ({"device": "cpu", "backend": "openvino", "compile": True}, "compile applies to backend torch only"),
])
def test_bad_openvino_choice_is_one_clear_line(tmp_path, options, text):
    """An impossible device or backend choice fails at start with what to do instead."""
    if "NPU" in ov.Core().available_devices:
        pytest.skip("this machine has an NPU")
    with pytest.raises(ValueError, match=text):
        DepthBoundaryEstimator.from_random(TINY, warmup=0, onnx_cache=tmp_path, **options)


def test_missing_openvino_package_names_the_install(tmp_path, monkeypatch):
    """Without the openvino wheel the backend says what to install instead of a traceback."""
    monkeypatch.setitem(sys.modules, "openvino", None)
    with pytest.raises(ValueError, match="backend openvino needs the openvino package.*pip install openvino"):
        tiny(tmp_path)

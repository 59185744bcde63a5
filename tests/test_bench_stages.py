"""The stage profile times the steps predict() really takes: its staged outputs equal predict()'s."""
import json

import numpy as np
import pytest

from benchmarks import bench_stages
from modot_ros.inference import DepthBoundaryEstimator
from tests.test_backends import FRAMES, TINY

STAGES = ["to tensor", "resize (antialiased bilinear, uint8)", "normalise (uint8 -> float / 255, network size)",
          "layout (channels_last; NCHW again for graph engines)", "engine call", "OB (resize logits, sigmoid)",
          "canonical -> metric camera (network size)", "resample mixture parameters",
          "read-outs (dominant mode, mean, sigma, ambiguity, confidence)", "to numpy"]


@pytest.mark.parametrize("backend", bench_stages.BACKENDS)
def test_staged_predict_gives_predicts_outputs(tmp_path, backend):
    """Each backend's staged run returns exactly what predict() returns, with a time for every stage."""
    pytest.importorskip({"torch": "torch", "onnxruntime": "onnxruntime", "openvino": "openvino"}[backend])
    estimator = DepthBoundaryEstimator.from_random(TINY, device="cpu", warmup=0, backend=backend,
                                                   onnx_cache=tmp_path)
    rgb, intr = FRAMES[1]
    expected = estimator.predict(rgb, intr)
    staged, ms = bench_stages.staged_predict(estimator, rgb, intr)
    for name, value in staged.items():
        np.testing.assert_allclose(value, getattr(expected, name), rtol=1e-5, atol=1e-6, err_msg=name)
    assert list(ms) == STAGES and all(t >= 0 for t in ms.values())


def test_one_backend_cli_writes_every_stage(tmp_path, capsys):
    """python -m benchmarks.bench_stages prints and writes the per-stage medians, predict() beside them."""
    out = tmp_path / "stages.json"
    assert bench_stages.main(["--backend", "torch", "--net", "96x64", "--image", "128x96", "--repeat", "2",
                              "--cache", str(tmp_path), "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert list(result["stages"]) == STAGES and result["predict"] > 0 and result["backend"] == "torch"
    assert "predict()" in capsys.readouterr().out

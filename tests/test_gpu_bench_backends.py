"""The prepared GPU backend benchmark runs end to end (tiny CPU smoke settings, as CI can)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_backend_bench_smoke_measures_every_backend_or_says_why_not(tmp_path):
    """--smoke times torch and onnxruntime side by side and names what TensorRT lacks here."""
    pytest.importorskip("onnxruntime")
    result = subprocess.run([sys.executable, "-m", "scripts.gpu_bench_backends", str(tmp_path), "--smoke"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    report = json.loads((tmp_path / "gpu_backends.json").read_text())
    assert report["smoke"] is True
    for what in ("forward", "estimator"):
        rows = {row["backend"]: row for row in report["rows"] if row["what"] == what}
        assert rows["torch"]["p50_ms"] > 0 and rows["onnxruntime (CPUExecutionProvider)"]["p50_ms"] > 0
        assert "needs a CUDA device" in rows["tensorrt"]["unavailable"]
    assert len(list((tmp_path / "cache").glob("*.onnx"))) == 1  # forward and estimator share one graph


def test_gpu_backend_bench_refuses_a_machine_without_cuda(tmp_path):
    """The full run on a CPU machine stops at once with one line, not after minutes."""
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    result = subprocess.run([sys.executable, "-m", "scripts.gpu_bench_backends", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "no CUDA device here" in result.stderr

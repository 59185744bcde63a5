"""The prepared GPU training command runs end to end (tiny CPU smoke settings, as CI can)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_bundle_fits_the_carry_limit_and_its_atlas_matches_scikit_image(tmp_path):
    """What the GPU machine lacks goes with the run: < 64 MiB, same photo atlas as here."""
    from scripts.gpu_bundle import build
    from training.data.synth import textures
    out = build(tmp_path / "bundle")
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    assert size < 64 * 2**20
    baked = np.load(out / "photo_atlas.npz")
    here, gray = textures._atlas_numpy()
    restored = (baked["atlas"].astype(np.float32) / 255.0) ** 2.2
    assert restored.shape == here.shape and np.abs(restored - here).max() < 0.02
    assert (baked["gray"] == gray).all()


def test_gpu_train_script_smoke_writes_checkpoint_and_metrics(tmp_path):
    """SMOKE=1 trains a few steps with on-the-fly rendering and exports the runtime weights."""
    env = dict(os.environ, SMOKE="1", PYTHON=sys.executable)
    result = subprocess.run(["bash", str(ROOT / "scripts/gpu_train_lite2.sh"), str(tmp_path)],
                            env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert (tmp_path / "modot_lite2.pt").is_file() and (tmp_path / "val.csv").is_file()
    line = next(row for row in result.stdout.splitlines()
                if row.startswith("gpu_train_lite2 summary:"))
    summary = json.loads(line.split(":", 1)[1])
    assert summary["run_stats"]["steps"] == 3 and "abs_rel" in summary["val"]

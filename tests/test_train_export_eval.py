"""Export (fp16 runtime file, ONNX with onnxruntime parity) and the evaluation report."""
from __future__ import annotations

import json

import numpy as np
import pytest

from modot_ros.checkpoint import CheckpointError, load_checkpoint
from modot_ros.geometry import CameraIntrinsics
from modot_ros.inference import DepthBoundaryEstimator
from tests.train_cases import tiny_caches, write_config  # noqa: F401 (fixture)
from training.evaluate import evaluate_checkpoint, split_frames
from training.export import export_from_run, export_onnx, export_runtime
from training.export import main as export_main
from training.train import main


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, tiny_caches):  # noqa: F811
    root = tmp_path_factory.mktemp("export")
    config = write_config(root / "c.yaml", tiny_caches, schedule={"max_steps": 2})
    assert main(["--config", str(config), "--output", str(root / "run")]) == 0
    return root / "run"


def test_fp16_runtime_export_matches_fp32(tmp_path, tiny_run):
    """The shipped fp16-storage file gives the same depth as the training run's fp32 weights."""
    half = export_runtime(tiny_run / "final.pt", tmp_path / "half.pt", half=True)
    assert load_checkpoint(half).training_config["run_stats"]["steps"] == 2
    image = np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    intr = CameraIntrinsics(40, 40, 32, 24, 64, 48)
    a = DepthBoundaryEstimator.from_checkpoint(tiny_run / "final.pt", device="cpu").predict(image, intr)
    b = DepthBoundaryEstimator.from_checkpoint(half, device="cpu").predict(image, intr)
    np.testing.assert_allclose(a.params, b.params, rtol=2e-2, atol=1e-3)
    # the mode read-out may switch component where the weights are ~0.5, nowhere else
    assert np.mean(np.isclose(a.depth, b.depth, rtol=2e-2)) > 0.99
    partial = export_from_run(tiny_run, tmp_path / "partial.pt")
    assert load_checkpoint(partial).training_config["run_stats"]["partial"] is True


def test_export_cli_records_provenance_and_stays_weights_only_loadable(tmp_path, tiny_run):
    """The shipped file carries command, hardware and test metrics and loads with weights_only."""
    metrics = tmp_path / "metrics.json"
    metrics.write_text(json.dumps({"abs_rel": 0.5}))
    assert export_main(["--checkpoint", str(tiny_run / "final.pt"), "--runtime", str(tmp_path / "s.pt"),
                        "--half", "--test-metrics", str(metrics), "--command", "python -m x"]) == 0
    ckpt = load_checkpoint(tmp_path / "s.pt")
    assert ckpt.metrics["test"] == {"abs_rel": 0.5}
    assert ckpt.training_config["provenance"]["command"] == "python -m x"
    assert ckpt.training_config["provenance"]["cpu_count"] >= 1


def test_onnx_export_agrees_with_torch(tmp_path, tiny_run):
    """ONNX export is checked against torch with onnxruntime (a mismatch raises)."""
    errors = export_onnx(tiny_run / "final.pt", tmp_path / "m.onnx")
    assert set(errors) == {"depth_params", "boundary_logits"}
    assert max(errors.values()) < 1e-3


def test_evaluation_report_has_table_and_panels(tmp_path, tiny_run, tiny_caches):  # noqa: F811
    """Evaluation writes the metrics table (depth, OB, sharpness, clouds) and PNG panels."""
    frames = split_frames("val", 2, tiny_caches[1])
    summary = evaluate_checkpoint(tiny_run / "final.pt", frames, tmp_path / "eval", panels=1)
    for key in ("abs_rel", "delta1", "ods", "ois", "ap", "dbe_acc", "flying_rate", "fscore_rel5"):
        assert key in summary
    assert np.isfinite(summary["abs_rel"])
    assert json.loads((tmp_path / "eval" / "metrics.json").read_text())["abs_rel"] == summary["abs_rel"]
    assert "abs_rel" in (tmp_path / "eval" / "metrics.md").read_text()
    assert (tmp_path / "eval" / "panel_00.png").stat().st_size > 1000


def test_evaluation_table_has_baseline_rows(tmp_path, tiny_run, tiny_caches):  # noqa: F811
    """One command gives the rows constant / shipped / checkpoint, scored by the one scorer."""
    frames = split_frames("val", 2, tiny_caches[1])
    train = split_frames("train", 2, tiny_caches[0])
    evaluate_checkpoint(tiny_run / "final.pt", frames, tmp_path / "eval", panels=0, label="tiny",
                        baselines=("constant", "shipped"), train_frames=train)
    table = (tmp_path / "eval" / "metrics.md").read_text().splitlines()
    assert table[0] == "| metric | key | constant | shipped | tiny |"
    rows = json.loads((tmp_path / "eval" / "all_metrics.json").read_text())
    assert list(rows) == ["constant", "shipped", "tiny"]
    assert "bimodality" in rows["shipped"] and "si_boundary_f1" in rows["constant"]
    with pytest.raises(ValueError, match="unknown baselines"):
        evaluate_checkpoint(tiny_run / "final.pt", frames, baselines=("median",), train_frames=train)


def test_wrong_file_gives_clear_error(tmp_path):
    """Exporting something that is not a checkpoint names the file and the problem."""
    bad = tmp_path / "x.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="x.pt"):
        export_runtime(bad, tmp_path / "y.pt")


def test_middlebury_frame_is_metric_and_scored(tmp_path, tiny_run):
    """The real Middlebury frame: metric depth from the calibration, a thin OB proxy, scored."""
    from training.data.middlebury import motorcycle_frame
    from training.data.ob_from_depth import near_side_edges

    (frame,) = split_frames("middlebury", 1)
    depth = frame["depth"]
    assert frame["rgb"].shape == depth.shape + (3,) and frame["intrinsics"].fx == pytest.approx(994.978)
    lo, median, hi = np.nanpercentile(depth, [1, 50, 99])
    assert 1.5 < lo < median < hi < 6.0  # the motorcycle stands ~2-3 m from the rig, the wall ~5 m
    assert 0.02 < np.isnan(depth).mean() < 0.15  # stereo occlusions have no GT
    assert 0.003 < frame["boundary"].mean() < 0.05
    step = np.full((8, 8), 4.0, np.float32)
    step[:, :3] = 2.0
    assert near_side_edges(step)[:, 2].all() and not near_side_edges(step)[:, 3:].any()
    summary = evaluate_checkpoint(tiny_run / "final.pt", [motorcycle_frame()], tmp_path / "mb", panels=1)
    assert np.isfinite(summary["abs_rel"]) and np.isfinite(summary["ods"])

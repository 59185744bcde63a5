"""``modot-adapt --relative``: another model's relative depth, fitted per frame and filling the holes.

The "other model" here is the ground truth as an affine inverse-depth map (what a relative model
gives at best), so the tests can check the fit exactly; a tiny ONNX file checks the ONNX path.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.test_adapt import _run, robot_bag, tiny_init  # noqa: F401  (fixtures)
from tests.train_cases import tiny_caches  # noqa: F401  (fixture)
from training import adapt
from training.data.frames import DataError
from training.data.recording import read_recording
from training.data.relative_depth import RelativeDepthModel, aligned_depth, fill_from_relative


def _scene(height: int = 60, width: int = 80) -> np.ndarray:
    """Depth 1..5 m: a floor ramp and a box in front."""
    depth = np.broadcast_to(np.linspace(5.0, 1.0, height)[:, None], (height, width)).copy()
    depth[20:40, 30:50] = 1.5
    return depth.astype(np.float32)


def test_an_affine_disparity_map_fitted_to_a_lidar_row_gives_the_depth_everywhere():
    """Scale and shift are recovered from one row, even with a few wrong returns on it."""
    depth = _scene()
    relative = 7.0 / depth + 0.4  # the other model's unknown scale and shift
    row = np.full_like(depth, np.nan)
    row[30] = depth[30]
    row[30, :5] = 9.0  # reflections: outliers the fit drops
    fitted, (a, b) = aligned_depth(relative, row, "disparity")
    assert np.allclose(fitted, depth, rtol=1e-4)
    assert a == pytest.approx(1 / 7.0, rel=1e-4)
    as_depth, _ = aligned_depth(3.0 * depth + 2.0, row, "depth")
    assert np.allclose(as_depth, depth, rtol=1e-4)
    few = np.full_like(depth, np.nan)
    few[30, :10] = depth[30, :10]
    assert aligned_depth(relative, few, "disparity") is None  # 10 samples: too few to fit two numbers


def test_fill_keeps_measurements_and_falls_back_to_the_network(tmp_path):
    """Measured pixels keep their value; a frame without samples is fitted to the network's prediction."""
    depth = _scene()
    (tmp_path / "maps").mkdir()
    np.save(tmp_path / "maps" / "a.npy", 2.0 / depth + 0.1)
    np.save(tmp_path / "maps" / "b.npy", 2.0 / depth + 0.1)
    sparse = np.full_like(depth, np.nan)
    sparse[::7, ::7] = depth[::7, ::7] * 1.01
    rgb = np.zeros((*depth.shape, 3), np.uint8)
    frames = [{"name": "a", "rgb": rgb, "depth": sparse}, {"name": "b", "rgb": rgb, "depth": None}]
    counts = fill_from_relative(frames, RelativeDepthModel(tmp_path / "maps"), "disparity",
                                predict=lambda frame: 2.0 * depth)  # the network: twice as far
    assert counts == {"fitted_to_measurement": 1, "fitted_to_network": 1, "not_fitted": 0}
    assert np.array_equal(frames[0]["depth"][::7, ::7], sparse[::7, ::7])
    assert np.allclose(frames[0]["depth"][1::7, 1::7], depth[1::7, 1::7] * 1.01, rtol=0.02)
    assert np.allclose(frames[1]["depth"], 2.0 * depth, rtol=1e-3)  # the network's scale, the map's structure
    with pytest.raises(DataError, match="no map for frame c"):
        RelativeDepthModel(tmp_path / "maps")({"name": "c", "rgb": rgb})


def test_an_onnx_model_runs_on_each_image_at_its_input_size(tmp_path):
    """A static-size ONNX model's output is resized to the frame; a file that is not ONNX is one line."""

    class Brightness(torch.nn.Module):
        def forward(self, x):
            return x.mean(1) + 1.0  # (1, H, W)

    path = tmp_path / "rel.onnx"
    torch.onnx.export(Brightness(), torch.zeros(1, 3, 32, 48), str(path), input_names=["image"], dynamo=False)
    model = RelativeDepthModel(path, normalize=False)
    assert model.size == (48, 32)
    rgb = np.full((60, 80, 3), 255, np.uint8)
    out = model({"name": "x", "rgb": rgb})
    assert out.shape == (60, 80) and np.allclose(out, 2.0)
    (tmp_path / "bad.onnx").write_text("not a model")
    with pytest.raises(DataError, match="onnxruntime cannot load it"):
        RelativeDepthModel(tmp_path / "bad.onnx")


def _gt_maps(bag, folder):
    """The bag's depth as affine disparity maps named as modot-adapt names the frames."""
    folder.mkdir()
    for frame in read_recording(bag, "depth").frames:
        np.save(folder / f"{frame['name']}.npy", 3.0 / frame["truth"] + 0.2)
    return folder


def test_scan_and_relative_combine_into_dense_training_depth(tmp_path, robot_bag, tiny_init, tiny_caches):  # noqa: F811
    """A lidar row fits each map's scale and shift; the training frames become dense and metric."""
    maps = _gt_maps(robot_bag, tmp_path / "maps")
    code, report = _run(tmp_path, robot_bag, tiny_init, tiny_caches, "--supervision", "scan", "--relative",
                        str(maps), "--force")
    assert code == 0
    rel = report["recording"]["relative"]
    assert rel["fitted_to_measurement"] == report["split"]["train_frames"] and rel["fitted_to_network"] == 0
    truth = {f["name"]: f["truth"] for f in read_recording(robot_bag, "depth").frames}
    written = sorted((tmp_path / "out" / "train_frames" / "depth").glob("*.npy"))
    factor = report["scale_calibration"]["predicted_over_measured"]
    for file in written:
        depth = np.load(file) / factor  # written in the network's own scale
        assert np.isfinite(depth).mean() > 0.95
        assert np.nanmedian(np.abs(depth / truth[file.stem] - 1)) < 0.03  # the row's 0 % noise, edges aside


def test_write_frames_then_relative_alone_on_a_video_recording(
        tmp_path, robot_bag, tiny_init, tiny_caches, monkeypatch):  # noqa: F811
    """--write-frames names the images; without measurements the maps are fitted to the network.

    The tiny test network predicts nearly constant depth, which no map can be fitted to (a slope of
    zero), so the start network here is one that puts every frame twice as far as the truth.
    """
    truth_by_name = {f["name"]: f["truth"] for f in read_recording(robot_bag, "depth").frames}
    monkeypatch.setattr(adapt, "fill_from_relative", lambda frames, model, kind, predict: fill_from_relative(
        frames, model, kind, lambda frame: 2.0 * truth_by_name[frame["name"]]))
    assert adapt.main([str(robot_bag), "--write-frames", str(tmp_path / "images"), "--supervision", "tf"]) == 0
    names = sorted(p.stem for p in (tmp_path / "images").glob("*.png"))
    assert names and names == sorted(f["name"] for f in read_recording(robot_bag, "tf").frames)
    maps = _gt_maps(robot_bag, tmp_path / "maps")
    code, report = _run(tmp_path, robot_bag, tiny_init, tiny_caches, "--supervision", "tf", "--relative",
                        str(maps), "--force")
    assert code == 0 and report["recording"]["supervision"] == "relative"
    assert report["recording"]["relative"]["fitted_to_network"] == report["split"]["train_frames"]
    for file in (tmp_path / "out" / "train_frames" / "depth").glob("*.npy"):
        assert np.nanmedian(np.abs(np.load(file) / truth_by_name[file.stem] - 2.0)) < 0.01
    assert adapt.main([str(robot_bag), "--relative", str(tmp_path / "nothing")]) == 2

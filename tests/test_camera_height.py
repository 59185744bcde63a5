"""Metric scale from a known camera height: the ground-plane estimator, the loss in training, config checks."""
from __future__ import annotations

import csv
import dataclasses

import pytest
import torch

from modot_ros.checkpoint import load_checkpoint, load_state_strict, save_checkpoint
from modot_ros.model.network import DepthBoundaryNet
from tests.train_cases import write_config
from tests.video_cases import write_video_bag
from training.config import ConfigError, config_from_dict
from training.data.frames import render_cache
from training.data.synth.api import render_seeds
from modot_ros.scale.ground_plane import fit_ground
from training.losses.compose import batch_scale, predicted_depth
from training.train import main as train_main

# test-split scenes at 48x64: open ground; ground partly covered by objects; no ground in view
OPEN, CLUTTERED, NO_GROUND = 2_000_010, 2_000_016, 2_000_013
SHIPPED = "modot_ros/weights/modot_lite0.pt"


@pytest.fixture(scope="module")
def frames() -> dict:
    """Exact engine depth, K, instance ids and camera heights (pose z: the floor is z = 0)."""
    out = render_seeds([OPEN, CLUTTERED, NO_GROUND], 48, 64, noise=False)
    return out | {"height": out["pose"][:, 2, 3].float()}


def _object_share(frames: dict, i: int) -> float:
    """Share of the lower field of view (rows below cy) covered by objects (instance >= 2)."""
    lower = torch.arange(48).view(-1, 1).expand(48, 64) > frames["K"][i, 1, 2]
    return ((frames["instance"][i, 0] >= 2) & lower).sum().item() / lower.sum().item()


@pytest.mark.parametrize("index", [0, 1])
def test_the_engine_camera_height_is_recovered_and_scales_with_the_depth(frames, index):
    """Exact depth gives the engine's camera height within 5 %; depth x 1.7 gives 1.7x the height."""
    depth, K, truth = frames["depth"][index:index + 1], frames["K"][index:index + 1], frames["height"][index]
    fit = fit_ground(depth, K)
    assert fit.found.item() and abs(fit.height.item() / truth.item() - 1) < 0.05, (fit, truth)
    scaled = fit_ground(depth * 1.7, K)
    assert scaled.found.item() and abs(scaled.height.item() / (1.7 * truth.item()) - 1) < 0.05
    if index == 1:  # objects stand on a good part of the ground and must not pull the plane
        assert _object_share(frames, 1) > 0.3


def test_images_without_ground_are_rejected(frames):
    """A wall filling the view, and an engine frame whose lower half shows no floor, find no plane."""
    wall = torch.full((1, 1, 48, 64), 2.0)
    assert not fit_ground(wall, frames["K"][:1]).found.item()
    fit = fit_ground(frames["depth"][2:3], frames["K"][2:3])
    assert not fit.found.item() and torch.isnan(fit.height).item()


@pytest.mark.parametrize("values, message", [
    ({"data": {"sources": [{"kind": "bag", "path": "b", "camera_height_m": 0.4}]}},
     "sets camera_height_m, which apply to run.supervision=self_supervised only"),
    ({"data": {"sources": [{"kind": "folder", "path": "f", "poses": "pose_net"}]}},
     "kind=folder: poses apply to self-supervised bag sources only"),
    ({"data": {"sources": [{"kind": "synthetic", "min_motion_m": 0.1}]}}, "min_motion_m apply to"),
    ({"pose": {"pretrained": False}}, "this run has none: remove pose settings"),
    ({"pose": {"pretrained": False}, "run": {"supervision": "self_supervised"},
      "data": {"sources": [{"kind": "bag", "path": "b", "poses": "tf"}]}}, "this run has none"),
    ({"data": {"sources": [{"kind": "bag", "path": "b", "camera_height_m": -1.0}]}}, "must be >= 0"),
])
def test_pose_network_settings_a_run_would_ignore_are_refused(values, message):
    """Video-bag keys or pose settings on a run or source that cannot use them: one ConfigError line."""
    with pytest.raises(ConfigError, match=message) as error:
        config_from_dict(values)
    assert "\n" not in str(error.value)


def _init_checkpoint(path, factor: float):
    """The shipped weights at 96x128 input whose metric depth is ``factor`` times theirs.

    Metric depth = canonical depth * fx / canonical_focal, so dividing canonical_focal by the
    factor scales every depth exactly, with the same weights.
    """
    shipped = load_checkpoint(SHIPPED)
    config = dataclasses.replace(shipped.model_config, input_height=96, input_width=128,
                                 canonical_focal=shipped.model_config.canonical_focal * 128 / 320 / factor)
    model = DepthBoundaryNet(config)
    load_state_strict(model, shipped.state_dict, SHIPPED)
    save_checkpoint(path, model, config)
    return model, config


def _height_ratio(model, config, frames: dict) -> float:
    """Median over frames with a ground plane of estimated / true camera height."""
    with torch.no_grad():
        params = model.eval()(frames["rgb"].float() / 255.0, with_boundary=False).depth_params
    depth = predicted_depth(params, (96, 128)) * batch_scale(frames["K"], config).view(-1, 1, 1, 1)
    fit = fit_ground(depth, frames["K"])
    assert fit.found.sum() >= 3, fit
    return (fit.height[fit.found] / frames["height"][fit.found]).median().item()


def test_training_with_a_known_camera_height_moves_the_depth_scale_toward_it(tmp_path):
    """Depth 1.5x too far, video without /tf: ten steps bring the fitted camera height near the known one.

    Also: every image with a known height is either used or counted as skipped in train.csv, and
    the checkpoint's data description records the counts.
    """
    torch.manual_seed(0)
    model, model_config = _init_checkpoint(tmp_path / "init.pt", 1.5)
    video = render_seeds([OPEN] * 8, 96, 128, frames=list(range(0, 16, 2)))
    truth = float(video["pose"][0, 2, 3])
    video["height"] = torch.full((8,), truth)
    before = _height_ratio(model, model_config, video)
    bag = write_video_bag(tmp_path / "bag", n_frames=9, height=96, width=128, tf=False, seed=OPEN)
    val = render_cache(tmp_path / "val.pt", "val", 1, 96, 128, (), batch=1)
    config = write_config(tmp_path / "c.yaml", (val, val), model=model_config.to_dict(),
                          data={"sources": [{"kind": "bag", "path": str(bag), "stride": 2, "camera_height_m": truth}],
                                "crop_height": 96, "crop_width": 128, "batch_size": 2, "val_images": 1},
                          run={"supervision": "self_supervised"}, optim={"amp": False, "lr": 1e-3},
                          schedule={"max_steps": 10, "checkpoint_every": 1000, "log_every": 1})
    run = tmp_path / "run"
    assert train_main(["--config", str(config), "--output", str(run), "--init", str(tmp_path / "init.pt")]) == 0
    final = load_checkpoint(run / "final.pt")
    load_state_strict(model, final.state_dict, "final.pt")
    after = _height_ratio(model, model_config, video)
    # 1.77 -> 1.17 at the default weight; the same run without the term drifts only to 1.60
    assert before > 1.6 and abs(after - 1) < 0.3, (before, after)
    rows = list(csv.DictReader(open(run / "train.csv")))
    assert float(rows[-1]["height_images_total"]) + float(rows[-1]["height_skipped_total"]) == 10 * 2
    assert final.data["camera_height_images"]["used"] == int(float(rows[-1]["height_images_total"]))

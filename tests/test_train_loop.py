"""Trainer: a tiny run learns, its checkpoint serves the estimator, configs fail clearly."""
from __future__ import annotations

import csv

import numpy as np
import pytest
import torch

from modot_ros.config import ConfigError, ModelConfig
from modot_ros.geometry import CameraIntrinsics
from modot_ros.inference import DepthBoundaryEstimator
from modot_ros.model.network import NetworkOutput
from tests.train_cases import TINY_MODEL, tiny_caches, write_config  # noqa: F401 (fixture)
from training.config import load_config
from training.losses import LossConfig
from training.train import main
from training.losses.compose import compose_loss


def _rows(path):
    with open(path) as handle:
        return list(csv.DictReader(handle))


def test_tiny_run_learns_and_checkpoint_loads_in_estimator(tmp_path, tiny_caches):  # noqa: F811
    """A few steps on a fixed batch lower the loss and the exported file runs in the estimator."""
    config = write_config(tmp_path / "c.yaml", tiny_caches)
    assert main(["--config", str(config), "--output", str(tmp_path / "run")]) == 0
    totals = [float(r["total"]) for r in _rows(tmp_path / "run" / "train.csv")]
    assert len(totals) == 8
    assert np.mean(totals[-2:]) < np.mean(totals[:2]) - 0.5
    estimator = DepthBoundaryEstimator.from_checkpoint(tmp_path / "run" / "final.pt", device="cpu")
    pred = estimator.predict(np.full((48, 64, 3), 120, np.uint8), CameraIntrinsics(40, 40, 32, 24, 64, 48))
    assert pred.depth.shape == (48, 64) and np.isfinite(pred.depth).all()
    assert pred.boundary.shape == (48, 64)
    assert (tmp_path / "run" / "config.yaml").is_file()


def test_config_errors_name_the_key(tmp_path, tiny_caches):  # noqa: F811
    """A typo in a YAML key or a bad crop size is reported with the allowed values."""
    bad = write_config(tmp_path / "bad.yaml", tiny_caches, schedule={"max_stepz": 3})
    with pytest.raises(ConfigError, match="max_stepz.*allowed"):
        load_config(bad)
    crop = write_config(tmp_path / "crop.yaml", tiny_caches, data={"crop_height": 40})
    with pytest.raises(ConfigError, match="multiple of 16"):
        load_config(crop)
    assert main(["--config", str(bad)]) == 2


def _batch(b=2, h=32, w=48):
    depth = torch.rand(b, 1, h, w) * 4 + 1
    boundary = (torch.rand(b, 1, h, w) > 0.9).float()
    K = torch.tensor([[60.0, 0, w / 2], [0, 60.0, h / 2], [0, 0, 1]]).repeat(b, 1, 1)
    return {"rgb": torch.rand(b, 3, h, w), "depth": depth, "boundary": boundary, "K": K}


@pytest.mark.parametrize("variant,head,expected", [
    ("depth", "regression", {"depth_silog"}), ("boundary", "mixture", {"ob_bce"}),
    ("joint", "regression", {"depth_silog", "ob_bce", "obdcl"}),
    ("modot", "mixture", {"depth_nll", "depth_readout", "depth_assignment", "ob_bce", "obdcl"})])
def test_loss_terms_per_variant(variant, head, expected):
    """Each ablation variant is trained with the loss terms its task needs, no more."""
    cfg = ModelConfig(**{**TINY_MODEL, "decoder_channels": (16,) * 4, "variant": variant,
                         "depth_head": head})
    batch = _batch()
    params = torch.full((2, cfg.depth_channels, 16, 24), 0.5) if cfg.predicts_depth else None
    logits = torch.zeros(2, 1, 32, 48) if cfg.predicts_boundary else None
    out = NetworkOutput(logits, [torch.zeros(2, 1, 32, 48)] * 4 if logits is not None else [], params)
    _, terms = compose_loss(out, batch, cfg, LossConfig(), "supervised", 0)
    assert set(terms) - {"total"} == expected


def test_depth_targets_are_canonical():
    """GT depth is converted with the crop's fx, so a canonical-correct prediction has ~0 loss."""
    cfg = ModelConfig(**{**TINY_MODEL, "decoder_channels": (16,) * 4, "variant": "depth",
                         "depth_head": "regression"})
    batch = _batch()
    scale = batch["K"][:, 0, 0] / cfg.canonical_focal
    right = (scale.view(-1, 1, 1, 1) / batch["depth"])  # canonical inverse depth
    wrong = 1.0 / batch["depth"]  # metric inverse depth
    loss = {}
    for name, params in (("right", right), ("wrong", wrong)):
        out = NetworkOutput(None, [], params)
        loss[name] = compose_loss(out, batch, cfg, LossConfig(), "supervised", 0)[1]["depth_silog"]
    assert loss["right"] < 1e-3 < loss["wrong"]


def test_learning_rate_continues_across_a_resumed_leg_with_a_new_budget():
    """A second leg with a longer schedule continues the LR where it was; it never restarts."""
    import dataclasses

    from training.config import TrainConfig
    from training.trainer import learning_rate, progress
    first = TrainConfig()
    first = dataclasses.replace(first, schedule=dataclasses.replace(first.schedule, max_steps=100))
    second = dataclasses.replace(first, schedule=dataclasses.replace(first.schedule, max_steps=300))
    lr_at_resume = learning_rate(first, 80, 0.0)
    anchor = (progress(second, 80, 0.0), lr_at_resume)
    assert learning_rate(second, 80, 0.0, anchor) == pytest.approx(lr_at_resume)
    assert learning_rate(second, 81, 0.0, anchor) < lr_at_resume
    end = first.optim.lr * first.optim.lr_end_ratio
    assert learning_rate(second, 300, 0.0, anchor) == pytest.approx(end)
    assert learning_rate(second, 80, 0.0) > 2 * lr_at_resume  # what an un-anchored resume did


def test_on_the_fly_rendering_source_trains_and_records_legs(tmp_path, tiny_caches):  # noqa: F811
    """data.source=render (the GPU recipe) trains without a cache.

    A second leg from --init continues the step count and the leg records, with a continuous LR.
    """
    config = write_config(tmp_path / "r.yaml", tiny_caches,
                          data={"source": "render", "render_size": [48, 64], "render_scenes": 50,
                                "train_cache": str(tmp_path / "absent.pt")},
                          schedule={"max_steps": 3})
    assert main(["--config", str(config), "--output", str(tmp_path / "leg1")]) == 0
    from modot_ros.checkpoint import load_checkpoint
    first = load_checkpoint(tmp_path / "leg1" / "final.pt").training_config["run_stats"]
    assert first["steps"] == 3 and len(first["legs"]) == 1
    longer = write_config(tmp_path / "r2.yaml", tiny_caches,
                          data={"source": "render", "render_size": [48, 64], "render_scenes": 50,
                                "train_cache": str(tmp_path / "absent.pt")},
                          schedule={"max_steps": 5})
    assert main(["--config", str(longer), "--output", str(tmp_path / "leg2"),
                 "--init", str(tmp_path / "leg1" / "final.pt")]) == 0
    second = load_checkpoint(tmp_path / "leg2" / "final.pt").training_config["run_stats"]
    assert second["steps"] == 5 and [leg["end_step"] for leg in second["legs"]] == [3, 5]
    lrs = [float(r["lr"]) for r in _rows(tmp_path / "leg2" / "train.csv")]
    assert lrs[0] <= first["lr"] * 1.0001

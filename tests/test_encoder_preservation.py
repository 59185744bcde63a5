"""Encoder preservation: frozen encoder (LP-FT) and encoder LR multiplier (training/encoder_preservation.py)."""
from __future__ import annotations

import csv

import pytest
import torch
from torch import nn

from modot_ros.config import ConfigError, ModelConfig
from tests.train_cases import TINY_MODEL, tiny_caches, write_config  # noqa: F401 (fixture)
from training.config import OptimConfig, TrainConfig
from training.encoder_preservation import encoder_frozen, fit_saved_groups
from training.train import main
from training.trainer import _optimizer, build_model, train_step
from training.trainer_state import load_state


def _config(**optim) -> TrainConfig:
    model = ModelConfig(**{**TINY_MODEL, "decoder_channels": (16,) * 4, "pretrained_encoder": False})
    return TrainConfig(model=model, optim=OptimConfig(lr=1e-3, **optim))


def _batch(b: int = 2, h: int = 48, w: int = 64) -> dict:
    generator = torch.Generator().manual_seed(0)
    depth = torch.rand(b, 1, h, w, generator=generator) * 4 + 1
    K = torch.tensor([[40.0, 0, w / 2], [0, 40.0, h / 2], [0, 0, 1]]).repeat(b, 1, 1)
    return {"rgb": torch.rand(b, 3, h, w, generator=generator), "depth": depth,
            "boundary": (torch.rand(b, 1, h, w, generator=generator) > 0.9).float(), "K": K}


def _snapshot(module: nn.Module) -> dict[str, torch.Tensor]:
    """Parameters and buffers (BatchNorm running statistics included)."""
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _changed(before: dict, module: nn.Module, key_part: str) -> bool:
    after = module.state_dict()
    return any(not torch.equal(v, after[k]) for k, v in before.items() if key_part in k)


def _step(config: TrainConfig, model, optimizer, step: int) -> None:
    model.eval()
    model.train()  # what validation leaves behind: train_step must re-freeze the encoder's BN
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    train_step(model, _batch(), optimizer, scaler, config, step, torch.device("cpu"))


def test_frozen_encoder_gets_no_gradient_and_keeps_its_batchnorm_statistics():
    """While frozen, the encoder's weights and BN statistics stay put and the decoder still learns."""
    config = _config(encoder_frozen_steps=1)
    model = build_model(config, torch.device("cpu"))
    optimizer = _optimizer(model, [], config)
    before = _snapshot(model)
    _step(config, model, optimizer, step=0)
    assert all(p.grad is None for p in model.encoder.parameters())
    assert not _changed(before, model, "encoder.")
    assert _changed(before, model, "running_mean")  # the decoder's BN still updates
    assert _changed(before, model, "depth_decoder.") and _changed(before, model, "depth_head.")


def test_encoder_trains_again_once_the_frozen_steps_are_over():
    """At step encoder_frozen_steps the encoder gets gradients and updates its BN statistics again."""
    config = _config(encoder_frozen_steps=1)
    model = build_model(config, torch.device("cpu"))
    optimizer = _optimizer(model, [], config)
    _step(config, model, optimizer, step=0)
    before = _snapshot(model.encoder)
    _step(config, model, optimizer, step=1)
    assert all(p.grad is not None for p in model.encoder.parameters())
    assert model.encoder.training
    assert _changed(before, model.encoder, "running_mean") and _changed(before, model.encoder, "weight")


def test_frozen_norm_statistics_stay_while_every_weight_trains():
    """optim.freeze_norm_stats: no running statistic moves (after validation's train()), the weights do."""
    config = _config(freeze_norm_stats=True)
    model = build_model(config, torch.device("cpu"))
    optimizer = _optimizer(model, [], config)
    before = _snapshot(model)
    _step(config, model, optimizer, step=0)
    assert not _changed(before, model, "running_") and not _changed(before, model, "num_batches_tracked")
    assert _changed(before, model, "encoder.") and _changed(before, model, "depth_head.")
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert norms and all(m.weight.grad is not None for m in norms)  # the affine weights still learn


@pytest.mark.parametrize("optim,frozen_at", [
    ({}, []), ({"encoder_frozen_steps": 3}, [0, 1, 2]),
    ({"encoder_lr_scale": 0.0}, [0, 1, 2, 3, 4, 5]), ({"encoder_lr_scale": 0.1}, [])])
def test_encoder_frozen_steps_unfreeze_at_the_right_step(optim, frozen_at):
    """The encoder is frozen exactly for steps < encoder_frozen_steps, always when its LR scale is 0."""
    config = OptimConfig(**optim)
    assert [s for s in range(6) if encoder_frozen(config, s)] == frozen_at


@pytest.mark.parametrize("bad", [{"encoder_lr_scale": -0.1}, {"encoder_lr_scale": float("nan")},
                                 {"encoder_frozen_steps": -1}])
def test_negative_encoder_settings_are_config_errors(bad):
    """A negative or NaN encoder LR scale or frozen-step count is refused when the config loads."""
    with pytest.raises(ConfigError, match="encoder_"):
        OptimConfig(**bad)


def test_encoder_lr_scale_follows_the_schedule_and_survives_resume(tmp_path, tiny_caches):  # noqa: F811
    """The encoder's group gets encoder_lr_scale x the scheduled LR at every step, also after --resume."""
    config = write_config(tmp_path / "c.yaml", tiny_caches, optim={"lr": 1e-3, "encoder_lr_scale": 0.1},
                          schedule={"max_steps": 2})
    out = tmp_path / "run"
    for max_steps in (2, 4):
        assert main(["--config", str(config), "--output", str(out), "--resume",
                     "--set", f"schedule.max_steps={max_steps}"]) == 0
        with open(out / "train.csv") as handle:
            scheduled = float(list(csv.DictReader(handle))[-1]["lr"])
        groups = load_state(out)["optimizer"]["param_groups"]
        assert [g["lr_scale"] for g in groups] == [0.1, 1.0]
        assert [g["lr"] for g in groups] == pytest.approx([0.1 * scheduled, scheduled])
    assert load_state(out)["step"] == 4


def test_single_group_optimizer_state_of_older_runs_still_loads():
    """A run saved before the encoder had its own group resumes with its Adam moments intact."""
    config = _config(encoder_lr_scale=0.5)
    model = build_model(config, torch.device("cpu"))
    old = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(_batch()["rgb"]).depth_params.mean().backward()
    old.step()
    optimizer = _optimizer(model, [], config)
    optimizer.load_state_dict(fit_saved_groups(old.state_dict(), optimizer))
    assert [g["lr_scale"] for g in optimizer.param_groups] == [0.5, 1.0]
    for p in (next(model.encoder.parameters()), next(model.depth_head.parameters())):
        assert torch.equal(optimizer.state[p]["exp_avg"], old.state[p]["exp_avg"])

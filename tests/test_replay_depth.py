"""Self-supervised batches with GT-carrying samples: the replayed engine frames' supervised depth term."""
from __future__ import annotations

import pytest
import torch

from modot_ros.config import ModelConfig
from modot_ros.model.network import NetworkOutput
from tests.train_cases import TINY_MODEL
from training.losses import LossConfig, LossInputError
from training.losses.compose import compose_loss

H, W = 32, 48


def _batch(known: list[bool]) -> dict:
    """A video batch (two source frames, the camera still); samples with ``known`` carry GT depth."""
    b = len(known)
    depth = torch.linspace(1.0, 3.0, H).view(1, 1, H, 1).expand(b, 1, H, W).clone()
    depth[~torch.tensor(known)] = float("nan")  # a recording's video: no depth
    K = torch.tensor([[60.0, 0, 24], [0, 60.0, 16], [0, 0, 1]]).repeat(b, 1, 1)
    generator = torch.Generator().manual_seed(0)
    rgb = torch.rand(b, 3, H, W, generator=generator)
    return {"rgb": rgb, "sources": rgb[:, None].repeat(1, 2, 1, 1, 1), "depth": depth,
            "boundary": torch.full_like(depth, float("nan")), "K": K,
            "T_source_from_target": torch.eye(4).repeat(b, 2, 1, 1)}


def _loss(batch: dict, weight: float, params: torch.Tensor, supervision: str = "self_supervised"):
    cfg = ModelConfig(**{**TINY_MODEL, "decoder_channels": (16,) * 4, "variant": "depth", "depth_head": "mixture"})
    return compose_loss(NetworkOutput(None, [], params), batch, cfg, LossConfig(replay_depth_weight=weight),
                        supervision, 0)


def _params(b: int) -> torch.Tensor:
    params = torch.full((b, 5, H // 2, W // 2), 0.5)
    params[:, 2:4] = 0.1  # sigmas
    params[:, 0] = torch.linspace(0.2, 0.9, W // 2)  # inverse depths unlike the GT's
    return params.requires_grad_(True)


def test_only_samples_with_gt_add_the_supervised_term():
    """The term is the supervised loss of the GT-carrying samples alone, and trains only them."""
    batch, params = _batch([True, False]), _params(2)
    without, terms0 = _loss(batch, 0.0, params)
    with_, terms = _loss(batch, 2.0, params)
    assert not any(k.startswith("replay_") for k in terms0)
    assert any(k.startswith("replay_") for k in terms) and "photo_photo" in terms
    known = {k: v[:1] for k, v in batch.items()}
    supervised, _ = _loss(known, 0.0, params[:1].detach(), "supervised")
    assert (with_ - without).item() == pytest.approx(2.0 * supervised.item(), rel=1e-4)
    (with_ - without).backward()
    assert params.grad[0].abs().sum() > 0 and params.grad[1].abs().sum() == 0


def test_a_batch_without_gt_is_photometric_only():
    """The recording's own video (no depth anywhere) costs exactly what it cost without the term."""
    batch, params = _batch([False, False]), _params(2)
    assert _loss(batch, 1.0, params)[0].item() == _loss(batch, 0.0, params)[0].item()


def test_a_negative_weight_is_refused():
    """A negative weight would reward depth error: the config says so in one line."""
    with pytest.raises(LossInputError, match="replay_depth_weight"):
        LossConfig(replay_depth_weight=-1.0)

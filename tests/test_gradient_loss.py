"""Multi-scale log-depth gradient matching (training/losses/gradient.py) and its place in compose."""
from __future__ import annotations

import pytest
import torch

from modot_ros.config import ConfigError, ModelConfig
from modot_ros.model.network import NetworkOutput
from tests.train_cases import TINY_MODEL
from training.config import RunConfig, TrainConfig
from training.losses import LossConfig, LossInputError, gradient_matching_loss
from training.losses.compose import compose_loss


def _depth(b: int = 2, h: int = 32, w: int = 48) -> torch.Tensor:
    """A slanted floor with a box in front: smooth slopes and two depth edges per image."""
    rows = torch.linspace(1.0, 3.0, h).view(1, 1, h, 1).expand(b, 1, h, w).clone()
    rows[..., 8:20, 12:30] = 0.8
    return rows


@pytest.mark.parametrize("c", [1.0, 0.25, 7.0])
def test_prediction_off_by_a_global_scale_costs_nothing(c):
    """pred = c * gt has zero loss: the term is scale invariant, as SILog with focus 1 is."""
    gt = _depth()
    assert gradient_matching_loss(c * gt, gt).item() == pytest.approx(0.0, abs=1e-5)


def test_wrong_shape_costs_and_gives_gradients():
    """A prediction that blurs the box's edges or flattens the floor is penalised and trained."""
    gt = _depth()
    flat = torch.full_like(gt, 2.0, requires_grad=True)
    value = gradient_matching_loss(flat, gt)
    assert value.item() > 0.1
    value.backward()
    assert flat.grad.abs().sum() > 0
    blurred = torch.nn.functional.avg_pool2d(gt, 5, stride=1, padding=2, count_include_pad=False)
    assert 0 < gradient_matching_loss(blurred, gt).item() < value.item()


def test_invalid_gt_pixels_are_ignored():
    """NaN (or 0) GT pixels neither produce NaN nor count: what the prediction does there is free."""
    gt, pred = _depth(), 2.0 * _depth()
    holes = gt.clone()
    holes[..., 0:6, :] = float("nan")
    holes[..., :, 40:] = 0.0
    pred_in_holes = pred.clone().requires_grad_(True)
    with torch.no_grad():
        pred_in_holes[..., 0:6, :] = 50.0  # garbage where there is no GT
    value = gradient_matching_loss(pred_in_holes, holes)
    value.backward()
    assert torch.isfinite(value) and value.item() == pytest.approx(0.0, abs=1e-5)
    assert torch.isfinite(pred_in_holes.grad).all()
    empty = torch.full_like(gt, float("nan"))
    assert gradient_matching_loss(pred, empty).item() == 0.0


def test_mismatched_shapes_are_refused():
    """A prediction at another resolution than its GT is an error, not a silent broadcast."""
    with pytest.raises(LossInputError):
        gradient_matching_loss(_depth(h=16), _depth())


def _compose_terms(head: str, weight: float) -> dict:
    cfg = ModelConfig(**{**TINY_MODEL, "decoder_channels": (16,) * 4, "variant": "depth",
                         "depth_head": head})
    gt = _depth()
    K = torch.tensor([[60.0, 0, 24], [0, 60.0, 16], [0, 0, 1]]).repeat(2, 1, 1)
    batch = {"rgb": torch.rand(2, 3, 32, 48), "depth": gt, "boundary": torch.zeros_like(gt), "K": K}
    params = torch.full((2, cfg.depth_channels, 16, 24), 0.5)
    if head == "mixture":
        params[:, 2:4] = 0.1  # sigmas
    out = NetworkOutput(None, [], params)
    return compose_loss(out, batch, cfg, LossConfig(gradient_weight=weight), "supervised", 0)[1]


@pytest.mark.parametrize("head", ["regression", "mixture"])
@pytest.mark.parametrize("weight", [0.0, 0.5])
def test_compose_logs_depth_grad_only_when_weighted(head, weight):
    """loss.gradient_weight > 0 adds a logged depth_grad term on either head; 0 leaves losses as before."""
    terms = _compose_terms(head, weight)
    assert ("depth_grad" in terms) == (weight > 0)
    if weight > 0:
        assert terms["depth_grad"] > 0  # a constant prediction of a slanted scene
        baseline = _compose_terms(head, 0.0)
        assert terms["total"] == pytest.approx(baseline["total"] + weight * terms["depth_grad"])


def test_negative_gradient_weight_is_refused():
    """A negative gradient weight is a config error, not a reward for wrong shapes."""
    with pytest.raises(LossInputError, match="gradient_weight"):
        LossConfig(gradient_weight=-1.0)


def test_gradient_weight_in_a_self_supervised_run_is_refused():
    """Gradient matching needs GT depth: a self-supervised config with it fails instead of ignoring it."""
    with pytest.raises(ConfigError, match="gradient_weight"):
        TrainConfig(run=RunConfig(supervision="self_supervised"), loss=LossConfig(gradient_weight=0.5))

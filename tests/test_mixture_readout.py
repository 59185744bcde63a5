"""Mixture parameters -> depth read-outs: sharp edges, ranges, variances, canonical depth."""
import numpy as np
import pytest
import torch

from modot_ros import mixture
from modot_ros.model.canonical import from_canonical_depth, to_canonical_depth


def _params(mu1, mu2, s1, s2, w1, shape=(1, 1, 4, 4)):
    return torch.cat([torch.full(shape, float(v)) for v in (mu1, mu2, s1, s2, w1)], dim=1)


def test_step_edge_stays_a_step_after_upsampling_parameters():
    """Flying pixels: upsampling parameters then reading the dominant mode keeps only 2 depths."""
    params = _params(1 / 1.0, 1 / 4.0, 0.01, 0.01, 1.0, shape=(1, 1, 8, 8))
    params[:, 4, :, 4:] = 0.0  # left half: component 1 (1 m); right half: component 2 (4 m)
    up = mixture.resize_params(params, (32, 37))
    depth = mixture.readout(up).depth
    values = torch.unique(torch.round(depth * 1e4) / 1e4)
    assert sorted(values.tolist()) == [1.0, 4.0]
    # Upsampling the read-out instead is what creates intermediate (flying) depths.
    blurred = torch.nn.functional.interpolate(mixture.readout(params).depth, (32, 37), mode="bilinear")
    assert ((blurred > 1.01) & (blurred < 3.99)).any()


@pytest.mark.parametrize("param", ["log_depth", "inverse_linear"])
def test_activation_ranges(param):
    """Means must stay inside the configured depth range; sigma > 0; weight in (0, 1)."""
    raw = torch.randn(2, 5, 6, 7) * 50
    p = mixture.activate(raw, min_depth=0.1, max_depth=20.0, param=param)
    assert p.dtype == torch.float32
    assert (p[:, :2] >= 1 / 20.0 * (1 - 1e-6)).all() and (p[:, :2] <= 1 / 0.1 * (1 + 1e-6)).all()
    assert (p[:, 2:4] > 0).all() and ((p[:, 4] >= 0) & (p[:, 4] <= 1)).all()
    assert mixture.activate(torch.zeros(1, 1, 2, 2), 0.1, 20.0).shape == (1, 1, 2, 2)
    with pytest.raises(ValueError, match="1 or 5"):
        mixture.activate(torch.zeros(1, 3, 2, 2), 0.1, 20.0)


def test_log_depth_means_have_even_gradients_near_and_far():
    """log_depth: d ln z / d logit is the same at 0.5 m and 20 m (no sigmoid tail far away)."""
    grads = []
    for depth in (0.5, 20.0):
        x = torch.tensor([[[[mixture.mean_logit(depth, 0.05, 150.0)]]]], requires_grad=True)
        raw = torch.cat([x, x, torch.zeros(1, 3, 1, 1)], 1)
        mu = mixture.activate(raw, 0.05, 150.0)[:, 0]
        np.testing.assert_allclose(1.0 / mu.item(), depth, rtol=1e-5)
        (-torch.log(mu)).sum().backward()  # ln z
        grads.append(x.grad.item())
    assert 0.5 < grads[0] / grads[1] < 2.0
    # The raw std is relative: sigma_inv / mu is the same at any depth for the same raw value.
    raw = torch.tensor([-2.0, 2.0, -3.0, -3.0, 0.0]).view(1, 5, 1, 1)
    p = mixture.activate(raw, 0.05, 150.0)
    np.testing.assert_allclose((p[:, 2] / p[:, 0]).item(), np.exp(-3.0), rtol=1e-5)
    np.testing.assert_allclose((p[:, 3] / p[:, 1]).item(), np.exp(-3.0), rtol=1e-5)


def test_fp16_raw_channels_give_fp32_parameters():
    """sigma^2 underflows in fp16; activations must run in fp32 even under autocast."""
    raw = torch.full((1, 5, 2, 2), -9.0, dtype=torch.float16)
    p = mixture.activate(raw, 0.1, 20.0)
    assert p.dtype == torch.float32 and (mixture.total_variance(p) > 0).all()


def test_readouts_match_closed_forms():
    """Dominant mode, mean, law of total variance, ambiguity and delta-method sigma."""
    p = _params(0.5, 0.25, 0.02, 0.04, 0.7)
    r = mixture.readout(p, scale=2.0)
    mu_bar = 0.7 * 0.5 + 0.3 * 0.25
    var = 0.7 * (0.02**2 + (0.5 - mu_bar) ** 2) + 0.3 * (0.04**2 + (0.25 - mu_bar) ** 2)
    np.testing.assert_allclose(r.depth, 2.0 / 0.5, rtol=1e-6)
    np.testing.assert_allclose(r.depth_mean, 2.0 / mu_bar, rtol=1e-6)
    np.testing.assert_allclose(mixture.total_variance(p), var, rtol=1e-5)
    np.testing.assert_allclose(r.ambiguity, 0.3, rtol=1e-6)
    np.testing.assert_allclose(r.sigma, 2.0 * 0.02 / 0.5**2, rtol=1e-6)
    np.testing.assert_allclose(r.confidence, 0.7 * np.exp(-0.02 / 0.5), rtol=1e-6)
    np.testing.assert_allclose(mixture.total_sigma(p, 2.0), 2.0 * np.sqrt(var) / mu_bar**2, rtol=1e-5)


def test_weight_below_half_selects_component_two():
    """The heavier component wins, whichever index it has."""
    r = mixture.readout(_params(0.5, 0.25, 0.02, 0.04, 0.3))
    np.testing.assert_allclose(r.depth, 4.0, rtol=1e-6)


def test_regression_head_readout():
    """A single-channel head reads out 1/mu with no ambiguity and undefined sigma."""
    r = mixture.readout(torch.full((2, 1, 3, 3), 0.25), scale=torch.tensor([1.0, 2.0]))
    assert torch.allclose(r.depth[0], torch.tensor(4.0)) and torch.allclose(r.depth[1], torch.tensor(8.0))
    assert (r.ambiguity == 0).all() and torch.isnan(r.sigma).all() and (r.confidence == 1).all()


@pytest.mark.parametrize("lib", ["numpy", "torch", "float"])
def test_canonical_depth_round_trip(lib):
    """Training targets and inference outputs must use exactly inverse conversions."""
    fx = {"numpy": np.array([250.0, 1000.0]), "torch": torch.tensor([250.0, 1000.0]),
          "float": 250.0}[lib]
    depth = np.ones((2, 3, 4)) * 2.0 if lib != "torch" else torch.full((2, 3, 4), 2.0)
    canonical = to_canonical_depth(depth, fx, 500.0)
    assert float(canonical[0, 0, 0]) == pytest.approx(4.0)  # half the focal -> twice as far
    if lib != "float":
        assert float(canonical[1, 0, 0]) == pytest.approx(1.0)
    back = from_canonical_depth(canonical, fx, 500.0)
    np.testing.assert_allclose(np.asarray(back), 2.0)

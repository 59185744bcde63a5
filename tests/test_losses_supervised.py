"""Known-answer tests of the supervised losses (SILog, balanced BCE, OBDCL, mixture NLL)."""
import math

import pytest
import torch

from training.losses import (LossConfig, LossInputError, balanced_bce_loss, balanced_bce_weights,
                             mixture_nll_loss, obdcl_loss, silog_loss)


def _depth(h=6, w=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return 1.0 + 4.0 * torch.rand(2, 1, h, w, generator=g)


# ---------------------------------------------------------------- SILog (modot.md §2.1)

def test_silog_zero_at_ground_truth():
    """A perfect prediction costs (numerically) nothing."""
    gt = _depth()
    assert silog_loss(gt.clone(), gt).item() < 1e-5


def test_silog_hand_value_without_x10():
    """The value matches the §2.1 formula by hand (square root, no x10 factor)."""
    gt = torch.ones(1, 1, 1, 2)
    pred = torch.tensor([[[[2.0, 1.0]]]])
    g = math.log(2.0)
    expected = math.sqrt(g * g / 2 - 0.85 * (g / 2) ** 2)
    assert silog_loss(pred, gt).item() == pytest.approx(expected, rel=1e-5)
    assert silog_loss(pred, gt, scale=10.0).item() == pytest.approx(10 * expected, rel=1e-5)


def test_silog_scale_invariant_with_full_variance_focus():
    """variance_focus=1 ignores a global scale error (relative-depth training)."""
    gt, pred = _depth(seed=1), _depth(seed=2)
    a = silog_loss(pred, gt, variance_focus=1.0)
    b = silog_loss(3.7 * pred, gt, variance_focus=1.0)
    assert a.item() == pytest.approx(b.item(), rel=1e-4)
    assert silog_loss(3.7 * pred, gt).item() > a.item()  # 0.85 keeps some scale penalty


def test_silog_gradient_pushes_towards_gt_and_ignores_nan():
    """Gradient descent shrinks an over-estimate; NaN GT pixels get no gradient."""
    gt = _depth()
    gt[0, 0, 0, 1] = float("nan")
    pred = gt.nan_to_num(2.0).clone()
    pred[0, 0, 0, 0] *= 1.5
    pred.requires_grad_(True)
    silog_loss(pred, gt).backward()
    assert pred.grad[0, 0, 0, 0] > 0
    assert pred.grad[0, 0, 0, 1] == 0
    assert torch.isfinite(pred.grad).all()


def test_silog_empty_mask_is_zero_and_differentiable():
    """A batch without valid depth gives 0 instead of NaN and still backpropagates."""
    pred = torch.ones(1, 1, 2, 2, requires_grad=True)
    loss = silog_loss(pred, torch.full((1, 1, 2, 2), float("nan")))
    loss.backward()
    assert loss.item() == 0.0


# ---------------------------------------------------------------- balanced BCE (§2.2)

def test_balanced_bce_weights_by_hand():
    """2x2 case: one boundary pixel gets N-/N = 3/4, negatives 1.1*lambda*N+/N, ignore label 0."""
    gt = torch.tensor([[[[1.0, 0.0], [0.0, 255.0]]]])
    w = balanced_bce_weights(gt, neg_lambda=1.7)
    assert w[0, 0, 0, 0].item() == pytest.approx(2 / 4)  # N- = 2 (255 is neither class)
    assert w[0, 0, 0, 1].item() == pytest.approx(1.1 * 1.7 * 1 / 4)
    assert w[0, 0, 1, 1].item() == 0.0


def test_balanced_bce_loss_by_hand_with_side_output_upsampling():
    """Zero logits give w*ln2; a coarse side output is upsampled to GT size, weighted by beta."""
    gt = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]])
    per_map = (0.75 + 3 * 1.1 * 1.1 * 0.25) * math.log(2) / 4
    side = torch.zeros(1, 1, 1, 1)  # 1x1 side output, upsampled to 2x2
    final = torch.zeros(1, 1, 2, 2)
    loss = balanced_bce_loss([side, final], gt, side_weights=(0.5, 2.0), neg_lambda=1.1)
    assert loss.item() == pytest.approx(2.5 * per_map, rel=1e-5)


def test_balanced_bce_gradient_sign_and_bad_weights():
    """Boundary logits are pushed up, background down; mismatched side weights raise."""
    gt = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]])
    logits = torch.zeros(1, 1, 2, 2, requires_grad=True)
    balanced_bce_loss([logits], gt, side_weights=(1.0,)).backward()
    assert logits.grad[0, 0, 0, 0] < 0 and (logits.grad[0, 0].flatten()[1:] > 0).all()
    with pytest.raises(LossInputError, match="side_weights"):
        balanced_bce_loss([logits, logits], gt, side_weights=(1.0,))


# ---------------------------------------------------------------- OBDCL (§2.3, §8.6)

def _step_scene(near=2.0, far=4.0, h=6, w=8):
    """Left half near, right half far; GT boundary on the last near column."""
    depth = torch.full((1, 1, h, w), near)
    depth[..., w // 2:] = far
    boundary = torch.zeros_like(depth)
    boundary[..., w // 2 - 1] = 1.0
    return depth, boundary


def test_obdcl_improved_has_no_border_bias():
    """Constant depth without boundaries costs nothing in the improved form; zero fill does not."""
    depth = torch.full((1, 1, 6, 8), 3.0)
    none = torch.zeros_like(depth)
    assert obdcl_loss(depth, none, form="improved").item() == 0.0
    assert obdcl_loss(depth, none, form="original").item() > 0.0  # border pulled towards 0


def test_obdcl_border_boundary_gets_no_free_jump_in_improved_form():
    """A boundary frame on flat depth: the original's zero fill fakes jumps at the corners."""
    depth = torch.full((1, 1, 6, 8), 3.0)
    frame = torch.ones_like(depth)
    frame[..., 1:-1, 1:-1] = 0.0
    n_frame = frame.sum().item()
    improved = obdcl_loss(depth, frame, form="improved", smooth=False)
    original = obdcl_loss(depth, frame, form="original", smooth=False)
    assert improved.item() == pytest.approx(0.1)  # every boundary pixel: no jump, full penalty
    assert original.item() == pytest.approx(0.1 * (n_frame - 4) / depth.numel())


def test_obdcl_step_edge_original_min_vs_improved_max():
    """A clean depth step on the boundary satisfies the improved form, not the original.

    The min in the original still penalises it (the along-edge difference is 0) and its smoothness
    crosses the edge.
    """
    depth, boundary = _step_scene()
    assert obdcl_loss(depth, boundary, form="improved").item() == pytest.approx(0.0, abs=1e-7)
    assert obdcl_loss(depth, boundary, form="original", smooth=False).item() > 0.0


def test_obdcl_gradient_widens_too_small_jump():
    """On a boundary with a too small jump, descent pushes the far side away."""
    depth, boundary = _step_scene(near=2.0, far=2.05)
    depth.requires_grad_(True)
    obdcl_loss(depth, boundary, form="improved", smooth=False).backward()
    w = depth.shape[-1]
    assert (depth.grad[..., w // 2] < 0).all() and (depth.grad[..., w // 2 - 2] > 0).all()


def test_loss_config_rejects_unknown_form():
    """A typo in the OBDCL form fails at config time with the allowed values."""
    with pytest.raises(LossInputError, match="improved"):
        LossConfig(obdcl_form="orignal")


# ---------------------------------------------------- mixture NLL (mixture_depth.md §6, §8.C.5)

def _gaussian_nll(y, mu, sigma):
    return 0.5 * ((y - mu) / sigma) ** 2 + torch.log(sigma) + 0.5 * math.log(2 * math.pi)


def test_mixture_nll_reduces_to_single_gaussian():
    """With all weight on one component the loss is that component's Gaussian NLL."""
    gt = _depth(3, 4)
    mu = torch.stack([0.3 + 0 * gt[:, 0], 0.9 + 0 * gt[:, 0]], 1)
    sigma = torch.stack([0.05 + 0 * gt[:, 0], 0.2 + 0 * gt[:, 0]], 1)
    loss = mixture_nll_loss(mu, sigma, torch.ones_like(gt), gt)
    expected = _gaussian_nll(1 / gt[:, 0], mu[:, 0], sigma[:, 0]).mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)


def test_mixture_nll_two_components_by_hand():
    """The two-component value equals -log(pi1 N1 + pi2 N2) computed in float64."""
    gt = torch.tensor([[[[2.0]]]])
    mu, sigma = torch.tensor([[[[0.45]], [[0.8]]]]), torch.tensor([[[[0.1]], [[0.3]]]])
    pi = torch.tensor([[[[0.3]], [[0.7]]]])
    dens = (pi * torch.exp(-_gaussian_nll(0.5, mu.double(), sigma.double()))).sum()
    expected = -math.log(dens.item())
    assert mixture_nll_loss(mu, sigma, pi, gt).item() == pytest.approx(expected, rel=1e-5)


def test_mixture_nll_gradient_moves_mean_to_gt_and_ignores_nan():
    """Descent moves the dominant mean to 1/gt; NaN GT and weights 1/0 keep gradients finite."""
    gt = torch.tensor([[[[2.0, float("nan")]]]])
    mu = torch.tensor([[[[0.4, 0.4]], [[0.9, 0.9]]]], requires_grad=True)
    sigma = torch.full((1, 2, 1, 2), 0.1)
    weight = torch.ones(1, 1, 1, 2)
    loss = mixture_nll_loss(mu, sigma, weight, gt)
    loss.backward()
    assert mu.grad[0, 0, 0, 0] < 0 and mu.grad[0, :, 0, 1].abs().sum() == 0
    assert torch.isfinite(mu.grad).all()
    closer = mixture_nll_loss(mu.detach() + 0.05, sigma, weight, gt)
    assert closer.item() < loss.item()


def test_mixture_nll_rejects_wrong_shapes():
    """A three-component head is rejected with a message naming the expected shapes."""
    gt = torch.ones(1, 1, 2, 2)
    with pytest.raises(LossInputError, match=r"\(B,2,H,W\)"):
        three = torch.ones(1, 3, 2, 2)
        mixture_nll_loss(three, three, torch.ones(1, 1, 2, 2), gt)


def _depth_step(near=1.0, far=4.0, h=8, w=10):
    gt = torch.full((1, 1, h, w), far)
    gt[..., : w // 2] = near
    return gt


def test_edge_surfaces_find_near_and_far_sides_of_a_step():
    """Within 2 px of a depth step each pixel knows both surfaces and which side it is on."""
    from training.losses import edge_surfaces
    s = edge_surfaces(_depth_step(), window=5, jump=1.1)
    row = lambda t: t[0, 0, 3].tolist()  # noqa: E731
    assert row(s.band) == [False, False, True, True, True, True, True, True, False, False]
    assert row(s.own_near) == [True] * 5 + [False, False] + [True] * 3  # off the band: own = 1
    # Both surfaces lie inside the window within 2 px of the edge line (columns 3-6).
    assert row(s.near)[3:7] == [1.0] * 4 and row(s.far)[3:7] == [4.0] * 4
    # Off the band both surfaces are the pixel's own depth; a smooth ramp has no band at all.
    assert row(s.near)[8:] == [4.0, 4.0] and row(s.far)[:2] == [1.0, 1.0]
    ramp = torch.linspace(1.0, 1.5, 10).view(1, 1, 1, 10).expand(1, 1, 6, 10).contiguous()
    assert not edge_surfaces(ramp).band.any()


def _mixture(near_mu, far_mu, w1, rel_sigma=0.02):
    mu = torch.cat([near_mu, far_mu], 1)
    return torch.cat([mu, mu * rel_sigma, w1], 1)


def test_assigned_mixture_loss_prefers_a_two_surface_mixture_to_a_collapsed_one():
    """The collapse (one component everywhere) must cost more than near/far components."""
    from training.losses import assigned_mixture_loss, edge_surfaces
    gt = _depth_step()
    s = edge_surfaces(gt)
    good = _mixture(1 / s.near, 1 / s.far, s.own_near.float().clamp(0.01, 0.99))
    collapsed = _mixture(1 / gt, 1 / gt, torch.full_like(gt, 0.99))
    good_total, good_terms = assigned_mixture_loss(good, gt)
    bad_total, bad_terms = assigned_mixture_loss(collapsed, gt)
    assert good_total < bad_total
    assert good_terms["readout"] < 1e-3 and good_terms["assignment"] < bad_terms["assignment"]
    assert good_terms["nll"] < bad_terms["nll"]


def test_assigned_mixture_loss_gradients_pull_the_far_component_and_the_weight():
    """On the far side of an edge: w_1 goes down, the far mean goes to the far surface."""
    from training.losses import assigned_mixture_loss
    gt = _depth_step()
    raw_w = torch.zeros_like(gt, requires_grad=True)
    far_mu = torch.full_like(gt, 1 / 2.0, requires_grad=True)
    params = _mixture(1 / gt, far_mu, torch.sigmoid(raw_w), rel_sigma=0.2)
    assigned_mixture_loss(params, gt)[0].backward()
    assert raw_w.grad[0, 0, 3, 6] > 0       # far-side band pixel: lower w_1
    assert raw_w.grad[0, 0, 3, 0] < 0       # off the band: raise w_1
    assert far_mu.grad[0, 0, 3, 4] > 0      # near side: far mean must drop toward 1/4
    nan_gt = gt.clone()
    nan_gt[..., 0, 0] = float("nan")
    assert torch.isfinite(assigned_mixture_loss(params.detach(), nan_gt)[0])

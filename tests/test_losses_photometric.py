"""Known-answer tests of the self-supervised photometric losses on a rendered textured plane."""
import math

import pytest
import torch
import torch.nn.functional as F

from training.losses.photometric import (PhotometricConfig, PhotometricInputError, depth_photometric_loss,
                                         mixture_photometric_loss, multiscale_photometric_loss)
from training.losses.reprojection import (photometric_error, photometric_error_with_sensitivity,
                                          relative_pose, responsibilities, ssim_centre_sensitivity,
                                          ssim_dissimilarity, warp_with_uncertainty)

H, W, F_PX, PLANE_Z = 24, 32, 30.0, 2.0
K = torch.tensor([[[F_PX, 0.0, 15.5], [0.0, F_PX, 11.5], [0.0, 0.0, 1.0]]])
SOURCE_POSITIONS = ((0.2, 0.0, 0.0), (-0.15, 0.05, 0.1))


def _render(cam_pos):
    """Smoothly textured fronto-parallel plane at z = PLANE_Z seen by a camera at ``cam_pos``."""
    v, u = torch.meshgrid(torch.arange(H, dtype=torch.float32),
                          torch.arange(W, dtype=torch.float32), indexing="ij")
    depth = PLANE_Z - cam_pos[2]
    x = cam_pos[0] + depth * (u - K[0, 0, 2]) / F_PX
    y = cam_pos[1] + depth * (v - K[0, 1, 2]) / F_PX
    return torch.stack([0.5 + 0.25 * torch.sin(9 * x + 1) * torch.cos(7 * y),
                        0.5 + 0.2 * torch.sin(6 * x - 8 * y),
                        0.5 + 0.2 * torch.cos(11 * x + 3 * y)])[None]


def _cam_to_world(position):
    pose = torch.eye(4, dtype=torch.float64)[None]
    pose[0, :3, 3] = torch.tensor(position, dtype=torch.float64)
    return pose


@pytest.fixture(scope="module")
def scene():
    """Target at the origin, two translated sources, poses as the synthetic engine gives them."""
    target = _render((0.0, 0.0, 0.0))
    sources = [_render(p) for p in SOURCE_POSITIONS]
    poses = [relative_pose(_cam_to_world((0, 0, 0)), _cam_to_world(p)) for p in SOURCE_POSITIONS]
    return target, sources, poses


def _inv(depth):
    return torch.full((1, 1, H, W), 1.0 / depth)


def _mixture(depth_a, depth_b, weight_a, sigma=0.01):
    mu = torch.cat([_inv(depth_a), _inv(depth_b)], 1)
    return mu, torch.full_like(mu, sigma), torch.full((1, 1, H, W), weight_a)


def test_relative_pose_maps_target_points_into_source():
    """T_source_from_target from camera-to-world poses maps a target point into the source."""
    t = relative_pose(_cam_to_world((0, 0, 0)), _cam_to_world((0.2, 0.0, 0.0)))
    point = torch.tensor([0.2, 0.0, 2.0, 1.0])
    assert torch.allclose(t[0] @ point, torch.tensor([0.0, 0.0, 2.0, 1.0]), atol=1e-6)


def test_single_depth_loss_near_zero_with_true_depth(scene):
    """Warping with the true depth and pose reproduces the target; a wrong depth does not."""
    target, sources, poses = scene
    true, _ = depth_photometric_loss(target, sources, _inv(PLANE_Z), K, poses)
    for wrong_depth in (1.5, 2.2, 3.0):
        wrong, _ = depth_photometric_loss(target, sources, _inv(wrong_depth), K, poses)
        assert wrong.item() > 10 * true.item()
    assert true.item() < 1e-3


def test_mixture_photo_term_uses_dominant_component(scene):
    """Only the heavier component is warped photometrically: swapping weights swaps the error."""
    target, sources, poses = scene
    _, good = mixture_photometric_loss(target, sources, *_mixture(PLANE_Z, 3.0, 0.8), K, poses)
    _, bad = mixture_photometric_loss(target, sources, *_mixture(PLANE_Z, 3.0, 0.2), K, poses)
    assert good["photo"].item() < 1e-3 and bad["photo"].item() > 10 * good["photo"].item()


def test_photometric_gradient_moves_inverse_depth_towards_truth(scene):
    """A too-far depth (too small inverse depth) gets a gradient that increases it."""
    target, sources, poses = scene

    def single(mu):
        return depth_photometric_loss(target, sources, mu[:, :1], K, poses)[0]

    def mixture(mu):
        sigma, weight = torch.full_like(mu, 0.01), torch.ones(1, 1, H, W)
        return mixture_photometric_loss(target, sources, mu, sigma, weight, K, poses)[1]["photo"]

    for loss_fn in (single, mixture):
        mu = torch.cat([_inv(2.2), _inv(2.2)], 1).requires_grad_(True)
        loss_fn(mu).backward()
        assert mu.grad[:, 0].sum().item() < 0


def test_alpha_loss_moves_weight_to_the_component_that_explains_the_pixel(scene):
    """With equal weights, the responsibility CE raises the weight of the true-depth component."""
    target, sources, poses = scene
    mu, sigma, _ = _mixture(PLANE_Z, 3.0, 0.5)
    weight = torch.full((1, 1, H, W), 0.5, requires_grad=True)
    _, terms = mixture_photometric_loss(target, sources, mu, sigma, weight, K, poses)
    terms["alpha"].backward()
    assert weight.grad.sum().item() < 0


def test_automask_drops_static_pixels(scene):
    """Frames identical to the target (camera static relative to the scene) are fully masked."""
    target, sources, poses = scene
    _, moving = depth_photometric_loss(target, sources, _inv(PLANE_Z), K, poses)
    still = [target.clone(), target.clone()]
    static_total, static = depth_photometric_loss(target, still, _inv(3.0), K, poses)
    assert moving["automask_keep"].item() > 0.6
    assert static["automask_keep"].item() == 0.0 and static_total.item() == 0.0
    cfg = PhotometricConfig(automask=False)
    _, unmasked = depth_photometric_loss(target, still, _inv(3.0), K, poses, cfg)
    assert unmasked["automask_keep"].item() > 0.5


def test_colour_std_matches_finite_difference_of_warped_colour(scene):
    """sigma_c = |dm/dd| * sigma (§2.3): the propagated std equals a central finite difference."""
    target, sources, poses = scene
    inv, sigma, eps = _inv(2.1).double(), torch.full((1, 1, H, W), 0.02, dtype=torch.float64), 1e-5
    src, Kd, pose = sources[1].double(), K.double(), poses[1].double()  # x, y and z motion
    warp = warp_with_uncertainty(src, inv, sigma, Kd, pose)
    plus = warp_with_uncertainty(src, inv + eps, None, Kd, pose).colour
    minus = warp_with_uncertainty(src, inv - eps, None, Kd, pose).colour
    expected = (plus - minus).abs() / (2 * eps) * sigma
    inside = warp.valid.bool().expand_as(expected)
    assert torch.allclose(warp.colour_std[inside], expected[inside], rtol=1e-4, atol=1e-7)
    signed = warp_with_uncertainty(src, inv, sigma, Kd, pose, abs_sensitivity=False)
    assert (signed.colour_std >= 1e-6).all()
    assert (signed.colour_std <= warp.colour_std + 1e-6).all()


def test_ssim_centre_sensitivity_matches_finite_difference():
    """|d rho_SSIM / d x_centre| of §2.3 equals a finite difference on the centre pixel only."""
    g = torch.Generator().manual_seed(3)
    x = torch.rand(1, 1, 5, 5, generator=g, dtype=torch.float64)
    y = torch.rand(1, 1, 5, 5, generator=g, dtype=torch.float64)
    analytic = ssim_centre_sensitivity(x, y)[0, 0, 2, 2]
    eps, bump = 1e-6, torch.zeros_like(x)
    bump[0, 0, 2, 2] = eps
    fd = (ssim_dissimilarity(x + bump, y) - ssim_dissimilarity(x - bump, y))[0, 0, 2, 2]
    fd = fd / (2 * eps)
    assert analytic.item() == pytest.approx(abs(fd.item()), rel=1e-5)


def test_responsibilities_match_monte_carlo():
    """The erf probability that component 2 has the lower loss matches sampling (§8.C.3)."""
    loss = torch.tensor([[0.30], [0.25]], dtype=torch.float64)
    std = torch.tensor([[0.05], [0.08]], dtype=torch.float64)
    prior = torch.tensor([[0.5], [0.5]], dtype=torch.float64)
    resp = responsibilities(loss, std, prior)
    g = torch.Generator().manual_seed(0)
    samples = loss + std * torch.randn(2, 200_000, generator=g, dtype=torch.float64)
    p2 = (samples[1] < samples[0]).double().mean()
    assert resp[1, 0].item() == pytest.approx(p2.item(), abs=5e-3)
    skewed = responsibilities(loss, std, torch.tensor([[0.9], [0.1]], dtype=torch.float64))
    p1 = 1 - p2.item()
    assert skewed[0, 0].item() == pytest.approx(0.9 * p1 / (0.9 * p1 + 0.1 * (1 - p1)), abs=5e-3)


def test_multiscale_combines_scales_and_upsamples_coarse_heads(scene):
    """Coarse heads are upsampled to the image; total = mean of pixel terms + sum of smoothness."""
    target, sources, poses = scene
    mu, sigma, weight = _mixture(PLANE_Z, 3.0, 0.8)
    mu = mu + 0.02 * torch.rand_like(mu)  # non-zero smoothness
    coarse = tuple(F.avg_pool2d(t, 2) for t in (mu, sigma, weight))
    heads = [(mu, sigma, weight), coarse]
    total, terms = multiscale_photometric_loss(target, sources, heads, K, poses)
    t0 = mixture_photometric_loss(target, sources, mu, sigma, weight, K, poses, scale_index=0)[1]
    t1 = mixture_photometric_loss(target, sources, *coarse, K, poses, scale_index=1)[1]
    expected = (t0["pixel"] + t1["pixel"]) / 2 + t0["smooth"] + t1["smooth"]
    assert total.item() == pytest.approx(expected.item(), rel=1e-6)
    assert math.isfinite(terms["mu_separation"].item())


def test_mismatched_sources_and_poses_raise(scene):
    """Forgetting a pose for a source frame is a clear error, not a silent zip truncation."""
    target, sources, poses = scene
    with pytest.raises(PhotometricInputError, match="poses"):
        depth_photometric_loss(target, sources, _inv(2.0), K, poses[:1])


def test_shared_ssim_statistics_give_the_same_error_and_sensitivity():
    """The fused error + sensitivity used by the loss equals the two separate definitions."""
    g = torch.Generator().manual_seed(4)
    x, y = torch.rand(2, 3, 6, 7, generator=g), torch.rand(2, 3, 6, 7, generator=g)
    error, sens = photometric_error_with_sensitivity(x, y, 0.85)
    assert torch.allclose(error, photometric_error(x, y, 0.85))
    assert torch.allclose(sens, ssim_centre_sensitivity(x, y))

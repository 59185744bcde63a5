"""Self-supervised photometric losses with known poses: K = 2 mixture and single-depth baseline.

Restated from ``/work/shared/reference/mixture_depth.md`` §2.3-2.6 (mixture) and §5 (monodepth2
anchor). Deliberate choices, each from §8.A: the colour std is ``|dm/dd| sigma`` (A1, flag
``abs_sensitivity``); the dominant component is an argmax one-hot, not ``round(alpha)`` (A3);
log-sigma smoothness is not divided by its mean (A6); like the reference (A5), the best source
and the auto-mask use the L1 error only, without tie-break noise, but an out-of-view source is
never chosen when another source sees the pixel.

Inputs: ``target`` (B,3,H,W) and ``sources`` [(B,3,H,W)] in [0, 1]; ``K`` (B,3,3) for the
target resolution; ``T_source_from_target`` [(B,4,4)] per source (see
:func:`training.losses.reprojection.relative_pose`). Mixture parameters may be coarser than the image;
they are bilinearly upsampled first (§2.3). Each loss returns ``(total, terms)``; ``terms`` holds
named scalars for logging (weighted loss terms plus detached monitors from §8.A8).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F

from training.losses.reprojection import relative_pose  # noqa: F401  (re-exported)
from training.losses.reprojection import (edge_aware_smoothness, photometric_error,
                                          photometric_error_with_sensitivity, responsibilities,
                                          warp_with_uncertainty)


@dataclass(frozen=True)
class PhotometricConfig:
    """Options of the self-supervised (mixture) photometric loss, mixture_depth.md §2.5.

    Attributes
    ----------
    ssim_weight: SSIM share of the photometric error (0.85; L1 gets the rest).
    sigma_weight: lambda_sigma on (sigma_L - sg(L))^2 (1.0).
    alpha_weight: weight of the responsibility cross-entropy (0.1).
    smooth_mu_weight: edge-aware smoothness on each mean map mu_k / mean(mu_k) (1e-3, / 2^scale).
    smooth_sigma_weight: edge-aware smoothness on log sigma_k (1e-3, / 2^scale).
    abs_sensitivity: True: sigma_c = |dm/dd| sigma (correct, §8.A1); False: the reference's
        clip(min=1e-6) of the signed value.
    automask: drop pixels whose best reprojection L1 is not below the identity L1 (static pixels).

    """

    ssim_weight: float = 0.85
    sigma_weight: float = 1.0
    alpha_weight: float = 0.1
    smooth_mu_weight: float = 1e-3
    smooth_sigma_weight: float = 1e-3
    abs_sensitivity: bool = True
    automask: bool = True


class PhotometricInputError(ValueError):
    """The photometric loss received inconsistent images, poses or parameter maps."""


Tensors = Sequence[torch.Tensor]


def _check_inputs(target: torch.Tensor, sources: Tensors, poses: Tensors, K: torch.Tensor) -> None:
    if target.dim() != 4:
        raise PhotometricInputError(f"target must be (B,C,H,W), got {tuple(target.shape)}")
    if not sources or len(sources) != len(poses):
        raise PhotometricInputError(f"{len(sources)} source images but {len(poses)} poses; "
                                    "pass one T_source_from_target per source (at least one)")
    for src in sources:
        if src.shape != target.shape:
            raise PhotometricInputError(f"source {tuple(src.shape)} != "
                                        f"target {tuple(target.shape)}")
    if K.shape != (target.shape[0], 3, 3):
        raise PhotometricInputError(f"K must be (B,3,3) = ({target.shape[0]},3,3), "
                                    f"got {tuple(K.shape)}")


def _to_image_size(t: torch.Tensor, size: torch.Size) -> torch.Tensor:
    if t.shape[-2:] == size:
        return t
    return F.interpolate(t, size=size, mode="bilinear", align_corners=False)


def _identity_l1(target: torch.Tensor, sources: Tensors) -> torch.Tensor:
    """``iota = min_s mean_c |I_t - I_s|`` (B,1,H,W): the error of not warping at all (§2.5)."""
    return torch.stack([(target - s).abs().mean(1, keepdim=True) for s in sources]).min(0).values


def _select_sources(errors: torch.Tensor, l1: torch.Tensor, valid: torch.Tensor,
                    identity: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Per component, take the lowest-L1 source, then apply validity and the auto-mask (§2.5).

    ``errors`` (K,S,B,E,H,W), ``l1``/``valid`` (K,S,B,1,H,W). Returns the chosen errors
    (K,B,E,H,W) and the keep mask (K,B,1,H,W).
    """
    l1_valid = l1.detach().masked_fill(valid < 0.5, float("inf"))
    best = l1_valid.argmin(dim=1, keepdim=True)
    chosen = errors.gather(1, best.expand(-1, -1, -1, errors.shape[3], -1, -1)).squeeze(1)
    keep = valid.gather(1, best).squeeze(1)
    if identity is not None:
        keep = keep * (l1.detach().gather(1, best).squeeze(1) < identity).to(keep.dtype)
    return chosen, keep


def _warp_all(target, sources, inv_depth, inv_sigma, K, poses, cfg: PhotometricConfig):
    """Photometric loss, its std, L1 and validity of one component for every source (§2.3)."""
    out = {"loss": [], "std": [], "l1": [], "valid": []}
    for src, pose in zip(sources, poses):
        warp = warp_with_uncertainty(src, inv_depth, inv_sigma, K, pose, cfg.abs_sensitivity)
        out["l1"].append((warp.colour - target).abs().mean(1, keepdim=True))
        out["valid"].append(warp.valid)
        if warp.colour_std is None:
            out["loss"].append(photometric_error(warp.colour, target, cfg.ssim_weight))
            continue
        loss, sens = photometric_error_with_sensitivity(warp.colour, target, cfg.ssim_weight)
        out["loss"].append(loss)
        out["std"].append(warp.colour_std * (cfg.ssim_weight * sens + 1 - cfg.ssim_weight))
    return {k: torch.stack(v) for k, v in out.items() if v}


def _smoothness(fields: torch.Tensor, image: torch.Tensor, normalise: bool) -> torch.Tensor:
    """Edge-aware smoothness summed over the channels of ``fields`` (each a component map)."""
    total = fields.new_zeros(())
    for k in range(fields.shape[1]):
        f = fields[:, k:k + 1]
        if normalise:
            f = f / f.mean(dim=(2, 3), keepdim=True).clamp_min(1e-7)
        total = total + edge_aware_smoothness(f, image)
    return total


def _mixture_pixel_terms(target, sources, mu, sigma, w, K, poses, cfg: PhotometricConfig):
    """Per-pixel photo, sigma and alpha terms at the chosen source, summed over components (§2.5).

    Returns (B,3,H,W) [photo, sigma, alpha] and the keep mask (2,B,1,H,W).
    """
    comps = [_warp_all(target, sources, mu[:, k:k + 1], sigma[:, k:k + 1], K, poses, cfg)
             for k in range(2)]
    loss, std, l1, valid = (torch.stack([c[key] for c in comps])
                            for key in ("loss", "std", "l1", "valid"))  # (2,S,B,C|1,H,W)
    w_k = w.transpose(0, 1).unsqueeze(1).unsqueeze(3)  # (2,1,B,1,H,W)
    resp = responsibilities(loss, std, w_k)
    # argmax one-hot, not round(alpha): a 0.5 tie must still train one component (§8.A3).
    dominant = F.one_hot(w.detach().argmax(1), 2).permute(3, 0, 1, 2)
    dominant = dominant.unsqueeze(1).unsqueeze(3).to(loss.dtype)
    photo = (dominant * loss).mean(3, keepdim=True)
    sig = cfg.sigma_weight * (dominant * (std - loss.detach()) ** 2).mean(3, keepdim=True)
    ce = -(resp * torch.log(w_k + 1e-6)) * valid.prod(dim=0, keepdim=True)
    alpha = cfg.alpha_weight * ce.mean(3, keepdim=True)
    identity = _identity_l1(target, sources) if cfg.automask else None
    chosen, keep = _select_sources(torch.cat([photo, sig, alpha], dim=3), l1, valid, identity)
    return (chosen * keep).sum(0), keep, valid


def mixture_photometric_loss(target: torch.Tensor, sources: Tensors, mu_inv: torch.Tensor,
                             sigma_inv: torch.Tensor, weight: torch.Tensor, K: torch.Tensor,
                             T_source_from_target: Tensors,
                             config: PhotometricConfig = PhotometricConfig(),
                             scale_index: int = 0) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Variance-aware K = 2 mixture photometric loss of one output scale (§2.5, §2.6).

    Per component k and source s: ``e = a_k L_k + lambda_sigma a_k (sigma_L,k - sg(L_k))^2
    + alpha_weight * CE(weights, responsibilities) * [both warps valid]``, channel-averaged.
    The lowest-L1 source is chosen per component, pixels failing validity or the auto-mask
    are dropped, components are summed, pixels averaged. Smoothness on mu_k/mean(mu_k) and on
    log sigma_k is weighted by ``2^-scale_index``. ``weight``: (B,2,h,w) or (B,1,h,w) = first.
    """
    _check_inputs(target, sources, T_source_from_target, K)
    if weight.shape[1] == 1:
        weight = torch.cat([weight, 1 - weight], dim=1)
    if mu_inv.shape[1] != 2 or sigma_inv.shape != mu_inv.shape or weight.shape != mu_inv.shape:
        raise PhotometricInputError(f"mu_inv {tuple(mu_inv.shape)}, sigma_inv "
                                    f"{tuple(sigma_inv.shape)}, weight {tuple(weight.shape)} "
                                    "must all be (B,2,h,w)")
    mu, sigma, w = (_to_image_size(t, target.shape[-2:]) for t in (mu_inv, sigma_inv, weight))
    pixel_terms, keep, valid = _mixture_pixel_terms(target, sources, mu, sigma, w, K,
                                                    T_source_from_target, config)
    per_term = pixel_terms.mean(dim=(0, 2, 3))  # photo, sigma, alpha
    factor = 2.0 ** -scale_index
    smooth_mu = factor * config.smooth_mu_weight * _smoothness(mu, target, normalise=True)
    log_sigma = torch.log(sigma.clamp_min(1e-12))
    smooth_sigma = factor * config.smooth_sigma_weight * _smoothness(log_sigma, target, False)
    pixel = per_term.sum()
    with torch.no_grad():  # training monitors of §8.A8
        separation = ((mu[:, 0] - mu[:, 1]).abs() / mu.mean(1).clamp_min(1e-7)).median()
        undecided = (w.max(1).values < 0.9).float().mean()
    terms = {"pixel": pixel, "photo": per_term[0], "sigma": per_term[1], "alpha": per_term[2],
             "smooth": smooth_mu + smooth_sigma, "smooth_mu": smooth_mu,
             "smooth_sigma": smooth_sigma, "automask_keep": keep.mean().detach(),
             "valid_fraction": valid.mean().detach(), "alpha_undecided": undecided,
             "mu_separation": separation}
    return pixel + smooth_mu + smooth_sigma, terms


def depth_photometric_loss(target: torch.Tensor, sources: Tensors, inv_depth: torch.Tensor,
                           K: torch.Tensor, T_source_from_target: Tensors,
                           config: PhotometricConfig = PhotometricConfig(),
                           scale_index: int = 0) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Single-depth (monodepth2-style) baseline with the same warping, selection and masking.

    ``mean_p(keep * pe_{s*}) + 2^-i * smooth_mu_weight * S(d / mean(d))`` (§5, with the §2.5
    L1-based source choice and validity, so the comparison with the mixture is fair).
    """
    _check_inputs(target, sources, T_source_from_target, K)
    if inv_depth.dim() != 4 or inv_depth.shape[1] != 1:
        raise PhotometricInputError(f"inv_depth must be (B,1,h,w), got {tuple(inv_depth.shape)}")
    inv = _to_image_size(inv_depth, target.shape[-2:])
    out = _warp_all(target, sources, inv, None, K, T_source_from_target, config)
    photo = out["loss"].mean(2, keepdim=True).unsqueeze(0)
    identity = _identity_l1(target, sources) if config.automask else None
    chosen, keep = _select_sources(photo, out["l1"].unsqueeze(0), out["valid"].unsqueeze(0),
                                   identity)
    pixel = (chosen * keep).sum(0).mean()
    smooth = 2.0 ** -scale_index * config.smooth_mu_weight * _smoothness(inv, target, True)
    terms = {"pixel": pixel, "photo": pixel, "smooth": smooth,
             "automask_keep": keep.mean().detach(), "valid_fraction": out["valid"].mean().detach()}
    return pixel + smooth, terms


def multiscale_photometric_loss(target: torch.Tensor, sources: Tensors, heads: Sequence,
                                K: torch.Tensor, T_source_from_target: Tensors,
                                config: PhotometricConfig = PhotometricConfig()
                                ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """``(1/n) sum_i pixel_i + sum_i smooth_i`` over output scales, finest first (§2.5 total).

    Each head is ``(mu_inv, sigma_inv, weight)`` for the mixture or an inverse-depth tensor for
    the single-depth baseline; all are upsampled to the image, so one K serves every scale.
    Returned terms are the per-scale terms averaged (smoothness terms summed).
    """
    total, terms = target.new_zeros(()), {}
    n = len(heads)
    for i, head in enumerate(heads):
        if isinstance(head, torch.Tensor):
            _, t = depth_photometric_loss(target, sources, head, K, T_source_from_target,
                                          config, i)
        else:
            _, t = mixture_photometric_loss(target, sources, *head, K, T_source_from_target,
                                            config, i)
        total = total + t["pixel"] / n + t["smooth"]
        for key, value in t.items():
            summed = key.startswith("smooth")
            terms[key] = terms.get(key, 0.0) + (value if summed else value / n)
    return total, terms

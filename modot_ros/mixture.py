"""Per-pixel depth mixture: parameter activations, resampling and read-outs.

Torch; shared by inference and training.

Parameter layout (``params``, (B, C, H, W), fp32):
* mixture head, C = 5: ``[mu_1, mu_2, sigma_1, sigma_2, w_1]``: means and std-devs of two
  Gaussians over *canonical inverse depth* (1/m), weight of component 1 (component 2 has 1 - w_1).
* regression head, C = 1: ``[mu]``, canonical inverse depth.
Multiply canonical depth by ``scale = fx_net / canonical_focal`` for metric depth (see
``modot_ros.model.canonical``). Digest: reference/mixture_depth.md §2.1, §2.2, §7.

Rule: resample the *parameters* (``resize_params``) to the output grid, then read out; never
interpolate a read-out depth (that re-creates ramps and flying pixels at boundaries).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import cv2
import numpy as np
import torch
import torch.nn.functional as F

LOG_SIGMA_RANGE = (-10.0, 3.0)  # keeps sigma^2 finite in fp32 and the NLL well conditioned


class Readout(NamedTuple):
    """Read-outs, each (B, 1, H, W) fp32, depths in metres when a scale is given."""

    depth: torch.Tensor        # mean of the heaviest component (sharp edges)
    depth_mean: torch.Tensor   # 1 / weighted-mean inverse depth (blurry; comparison only)
    sigma: torch.Tensor        # within-surface std of depth: scale * sigma_k* / mu_k*^2 (NaN: regression)
    ambiguity: torch.Tensor    # 1 - max weight, in [0, 0.5] (0 for regression)
    confidence: torch.Tensor   # max weight * exp(-sigma_k*/mu_k*), in (0, 1] (1 for regression)


def inverse_depth_range(min_depth: float, max_depth: float) -> tuple[float, float]:
    """Range of the means in inverse depth: [1/max_depth, 1/min_depth]."""
    return 1.0 / max_depth, 1.0 / min_depth


def _log_depth(x: torch.Tensor, min_depth: float, max_depth: float) -> torch.Tensor:
    lo, hi = math.log(min_depth), math.log(max_depth)
    return lo + (hi - lo) * torch.sigmoid(x)


def activate(raw: torch.Tensor, min_depth: float, max_depth: float,
             param: str = "log_depth") -> torch.Tensor:
    """Map raw head channels (5 mixture or 1 regression) to parameters, always in fp32.

    ``param="log_depth"``: ln z = ln min + (ln max - ln min) * sigmoid(x), mu = 1 / z, and the
    raw std is a *relative* (log-depth) std s = exp(clamp(x)), stored as sigma = s * mu (the
    delta method: d(1/z) = (1/z) d ln z). Near and far depths get the same gradient per logit.
    ``param="inverse_linear"``: mu = lo + (hi - lo) * sigmoid(x) in [1/max_depth, 1/min_depth]
    and sigma = exp(clamp(x)) in inverse depth (the weights shipped before log_depth).
    Both: w_1 = sigmoid(x).
    """
    raw = raw.float()  # sigma^2 underflows in fp16: activations and read-outs stay fp32
    if raw.shape[1] not in (1, 5):
        raise ValueError(f"depth head must have 1 or 5 channels, got {raw.shape[1]}")
    means = raw[:, 0:1] if raw.shape[1] == 1 else raw[:, 0:2]
    if param == "log_depth":
        mu = torch.exp(-_log_depth(means, min_depth, max_depth))
    elif param == "inverse_linear":
        lo, hi = inverse_depth_range(min_depth, max_depth)
        mu = lo + (hi - lo) * torch.sigmoid(means)
    else:
        raise ValueError(f"unknown depth parametrisation {param!r}; use log_depth or inverse_linear")
    if raw.shape[1] == 1:
        return mu
    sigma = torch.exp(raw[:, 2:4].clamp(*LOG_SIGMA_RANGE))
    if param == "log_depth":
        sigma = sigma * mu
    return torch.cat([mu, sigma, torch.sigmoid(raw[:, 4:5])], dim=1)


def mean_logit(depth: float, min_depth: float, max_depth: float, param: str = "log_depth") -> float:
    """The raw mean channel value whose activation is ``depth`` (for initialising head biases)."""
    if param == "log_depth":
        p = (math.log(depth) - math.log(min_depth)) / (math.log(max_depth) - math.log(min_depth))
    else:
        lo, hi = inverse_depth_range(min_depth, max_depth)
        p = (1.0 / depth - lo) / (hi - lo)
    return math.log(p / (1.0 - p))


def resize_params(params: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinearly resample parameters (or any per-pixel linear quantity: OB logits) to ``size`` = (H, W).

    Pixel-centre aligned (``align_corners=False``). Inference (a CPU tensor, no gradient) goes
    through OpenCV plane by plane, ~5x faster than torch's kernel at 2x (issue 30's stage
    table); same convention, equal to torch's within 1e-6 relative at integer ratios and 4e-3 at
    others (OpenCV's coefficient rounding). Training keeps torch's kernel (gradients, CUDA).
    """
    if tuple(params.shape[-2:]) == tuple(size):
        return params
    params = params.float()
    if params.device.type != "cpu" or (params.requires_grad and torch.is_grad_enabled()):
        return F.interpolate(params, size=size, mode="bilinear", align_corners=False)
    planes = params.detach().contiguous().numpy()
    out = np.empty((*planes.shape[:2], *size), np.float32)
    for image, resized in zip(planes.reshape(-1, *planes.shape[2:]), out.reshape(-1, *size)):
        cv2.resize(image, (size[1], size[0]), dst=resized, interpolation=cv2.INTER_LINEAR)
    return torch.from_numpy(out)


def is_mixture(params: torch.Tensor) -> bool:
    return params.shape[1] == 5


def split(params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(mu (B,2,H,W), sigma (B,2,H,W), weights (B,2,H,W)) of a mixture."""
    w1 = params[:, 4:5]
    return params[:, 0:2], params[:, 2:4], torch.cat([w1, 1.0 - w1], dim=1)


def dominant_index(params: torch.Tensor) -> torch.Tensor:
    """Index (B,1,H,W, int64) of the heaviest component; ties go to component 1."""
    return (params[:, 4:5] < 0.5).long()


def dominant_inverse_depth(params: torch.Tensor) -> torch.Tensor:
    """Mean of the heaviest component (B,1,H,W); for regression the single channel."""
    if not is_mixture(params):
        return params
    return params[:, 0:2].gather(1, dominant_index(params))


def mean_inverse_depth(params: torch.Tensor) -> torch.Tensor:
    """Weighted mean of the component means (B,1,H,W)."""
    if not is_mixture(params):
        return params
    mu, _, weights = split(params)
    return (weights * mu).sum(1, keepdim=True)


def total_variance(params: torch.Tensor) -> torch.Tensor:
    """Mixture variance of inverse depth: sum_k w_k (sigma_k^2 + (mu_k - mu_bar)^2)."""
    if not is_mixture(params):
        return torch.zeros_like(params)
    mu, sigma, weights = split(params)
    mu_bar = (weights * mu).sum(1, keepdim=True)
    return (weights * (sigma.square() + (mu - mu_bar).square())).sum(1, keepdim=True)


def ambiguity(params: torch.Tensor) -> torch.Tensor:
    """Boundary ambiguity 1 - max_k w_k in [0, 0.5]."""
    if not is_mixture(params):
        return torch.zeros_like(params)
    w1 = params[:, 4:5]
    return 1.0 - torch.maximum(w1, 1.0 - w1)


def dominant_sigma(params: torch.Tensor) -> torch.Tensor:
    """Inverse-depth std of the heaviest component (NaN for regression)."""
    if not is_mixture(params):
        return torch.full_like(params, float("nan"))
    return params[:, 2:4].gather(1, dominant_index(params))


def _scale(scale: torch.Tensor | float, like: torch.Tensor) -> torch.Tensor:
    scale = torch.as_tensor(scale, dtype=torch.float32, device=like.device)
    return scale.reshape(-1, 1, 1, 1) if scale.ndim == 1 else scale


def to_metric(params: torch.Tensor, scale: torch.Tensor | float) -> torch.Tensor:
    """Canonical -> metric parameters: means and std-devs divided by ``scale`` (float or (B,)), weight kept.

    Linear per pixel, so it commutes with ``resize_params``: the inference path scales at the
    network's size, before resampling to a (usually larger) camera grid.
    """
    params = params.float()
    s = torch.as_tensor(scale, dtype=torch.float32, device=params.device).reshape(-1, 1, 1, 1)
    if not is_mixture(params):
        return params / s
    divisor = torch.ones(s.shape[0], 5, 1, 1, device=params.device)
    divisor[:, :4] = s
    return params / divisor


def readout(params: torch.Tensor, scale: torch.Tensor | float = 1.0) -> Readout:
    """All read-outs from (already resampled) parameters, in few full-size passes (the node's hot path).

    ``scale`` (float or (B,)) maps canonical depth to metric depth (= fx_net / canonical_focal);
    1.0 for parameters already metric (``to_metric``). A depth that is not finite (an engine's
    overflow) is NaN.
    """
    params = params.float()
    s = None if isinstance(scale, (int, float)) and scale == 1.0 else _scale(scale, params)
    scaled = (lambda t: t) if s is None else (lambda t: t.mul_(s))  # noqa: E731 (in place: fresh tensors)
    if not is_mixture(params):
        depth = scaled(torch.reciprocal(params)).nan_to_num_(posinf=float("nan"), neginf=float("nan"))
        return Readout(depth=depth, depth_mean=depth.clone(), sigma=torch.full_like(params, float("nan")),
                       ambiguity=torch.zeros_like(params), confidence=torch.ones_like(params))
    mu_1, mu_2, sigma_1, sigma_2, w_1 = params.split(1, dim=1)
    first = (w_1 >= 0.5).float()  # dominant component; ties go to component 1 (lerp is exact at 0 and 1)
    inverse = torch.reciprocal(torch.lerp(mu_2, mu_1, first))  # 1 / mu_k*
    relative = torch.lerp(sigma_2, sigma_1, first).mul_(inverse)  # sigma_k* / mu_k*
    top = torch.maximum(w_1, 1.0 - w_1)
    sigma = scaled(relative * inverse)  # delta method: z = s / mu => std_z = s * std_mu / mu^2
    return Readout(depth=scaled(inverse).nan_to_num_(posinf=float("nan"), neginf=float("nan")),
                   depth_mean=scaled(torch.reciprocal(torch.lerp(mu_2, mu_1, w_1))), sigma=sigma,
                   ambiguity=1.0 - top, confidence=torch.exp(relative.neg_()).mul_(top))


def total_sigma(params: torch.Tensor, scale: torch.Tensor | float = 1.0) -> torch.Tensor:
    """Total mixture std of depth (law of total variance, delta method): s * sqrt(var) / mu_bar^2."""
    return _scale(scale, params) * total_variance(params).sqrt() / mean_inverse_depth(params).square()

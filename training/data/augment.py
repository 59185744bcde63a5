"""Training-time augmentations of a whole batch against the synthetic-to-real gap.

Geometry first: a camera roll about the optical axis (supervised batches only). Then appearance,
per image: RandConv, brightness / contrast / saturation, gamma, blur, noise, greyscale. A batch is
the trainer's dict on the training device: ``rgb`` (B,3,H,W) in [0,1], ``depth`` (B,1,H,W) metres
(NaN invalid), ``boundary`` (B,1,H,W) (NaN unknown), ``K`` (B,3,3); self-supervised batches add
``sources`` (B,S,3,H,W) and ``T_source_from_target`` (B,S,4,4). Every draw comes from one
generator seeded by (run seed, step, rank): a resumed run augments as an unbroken one does, and
the global torch RNG saved in ``last.pt`` is left alone.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from training.config import AugmentConfig

_LUMA = (0.299, 0.587, 0.114)  # Rec. 601, what mono conversions in drivers and OpenCV use
_SEQUENCE_KEYS = ("sources", "T_source_from_target")
_KERNEL = 5  # RandConv kernels are 3x3 or 5x5; a 3x3 one sits zero-padded in a 5x5 grid


def augment_batch(batch: dict, config: AugmentConfig, seed: Sequence[int]) -> dict:
    """The batch augmented as ``config`` says (a new dict); the batch itself when all is off."""
    if not config.active:
        return batch
    rgb = batch["rgb"]
    gen = batch_generator(seed, rgb.device)
    angles = _uniform(gen, rgb, (rgb.shape[0],), -1.0, 1.0) * math.radians(config.roll_deg)
    out = dict(batch)
    # rolling the target would also need its relative poses rotated: self-supervised keeps the view
    if config.roll_deg > 0 and not any(k in batch for k in _SEQUENCE_KEYS):
        out = rolled(out, angles)
    return _with_appearance(out, config, gen)


def batch_generator(seed: Sequence[int], device: torch.device) -> torch.Generator:
    """A generator on ``device`` seeded from the integers ``seed`` (e.g. run seed, step, rank)."""
    state = np.random.SeedSequence([int(s) for s in seed]).generate_state(1, np.uint64)[0]
    return torch.Generator(device=device).manual_seed(int(state))


def _uniform(gen: torch.Generator, like: torch.Tensor, shape: tuple, low: float, high: float) -> torch.Tensor:
    return low + (high - low) * torch.rand(shape, generator=gen, device=like.device, dtype=like.dtype)


def rolled(batch: dict, angles: torch.Tensor) -> dict:
    """Every per-pixel map turned about the principal point by ``angles`` (rad, one per image).

    A camera rolled about its optical axis: planar z-depth is unchanged, so depth values are kept
    and only moved (nearest, never averaged across an occluding edge), and K stays the same. The
    turn is done in normalised coordinates ((u-cx)/fx, (v-cy)/fy), so fx != fy needs no
    square-pixel assumption. Positive angles turn the content clockwise on screen (v points down).
    Pixels turned in from outside the frame: depth and OB NaN (unknown, left out of the losses),
    masks 0, and rgb edge-replicated rather than black, so no long high-contrast straight edge
    (which no real camera shows) appears beside supervised pixels.
    """
    rgb = batch["rgb"]
    n, _, h, w = rgb.shape
    u, v = _source_pixels(batch["K"].float(), angles.float(), h, w)
    grid = torch.stack([2.0 * u / max(w - 1, 1) - 1.0, 2.0 * v / max(h - 1, 1) - 1.0], -1)
    out = dict(batch)
    out["rgb"] = F.grid_sample(rgb, grid.to(rgb.dtype), mode="bilinear", padding_mode="border",
                               align_corners=True)  # pixel centres at integers, as K's cx, cy
    iu, iv = u.round().long(), v.round().long()
    inside = ((iu >= 0) & (iu < w) & (iv >= 0) & (iv < h))[:, None]
    index = (iv.clamp(0, h - 1) * w + iu.clamp(0, w - 1)).view(n, 1, h * w)
    for key, value in batch.items():
        if key != "rgb" and torch.is_tensor(value) and value.dim() == 4 and value.shape[-2:] == (h, w):
            picked = value.flatten(2).gather(2, index.expand(-1, value.shape[1], -1)).view_as(value)
            out[key] = picked.masked_fill(~inside, math.nan if value.is_floating_point() else 0)
    return out


def _source_pixels(K: torch.Tensor, angles: torch.Tensor, h: int, w: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(u, v) of the input pixel each output pixel reads, (B,H,W) each."""
    fx, fy, cx, cy = (K[:, i, j].view(-1, 1, 1) for i, j in ((0, 0), (1, 1), (0, 2), (1, 2)))
    v, u = torch.meshgrid(torch.arange(h, device=K.device, dtype=K.dtype),
                          torch.arange(w, device=K.device, dtype=K.dtype), indexing="ij")
    x, y = (u - cx) / fx, (v - cy) / fy
    cos, sin = angles.cos().view(-1, 1, 1), angles.sin().view(-1, 1, 1)
    return cx + fx * (cos * x + sin * y), cy + fy * (cos * y - sin * x)


def _with_appearance(batch: dict, config: AugmentConfig, gen: torch.Generator) -> dict:
    """Appearance changes of the target and, with the same draws per sample, of its sources."""
    rgb = batch["rgb"]
    frames = rgb[:, None] if "sources" not in batch else torch.cat([rgb[:, None], batch["sources"]], 1)
    n, f = frames.shape[:2]
    # a target and its sources share one draw, so the photometric loss still compares like with like
    draws = {k: v.repeat_interleave(f, 0) for k, v in draw_appearance(config, n, gen, rgb).items()}
    out = appearance(frames.flatten(0, 1), config, draws, gen).view_as(frames)
    return batch | {"rgb": out[:, 0]} | ({"sources": out[:, 1:]} if "sources" in batch else {})


def draw_appearance(config: AugmentConfig, n: int, gen: torch.Generator, like: torch.Tensor) -> dict:
    """Per-image parameters of every appearance change, (n, ...) each.

    All are drawn even when off, so switching one change on leaves the others' draws as they were.
    """
    s, g = config.color_jitter, math.log1p(config.gamma_jitter)
    return {"randconv": _uniform(gen, like, (n,), 0, 1) < config.randconv_prob,
            "kernel": random_kernels(n, gen, like),
            "alpha": _uniform(gen, like, (n,), 0, 1),
            "brightness": _uniform(gen, like, (n,), 1 - s, 1 + s),
            "contrast": _uniform(gen, like, (n,), 1 - s, 1 + s),
            "saturation": _uniform(gen, like, (n,), 1 - s, 1 + s),
            "gamma": _uniform(gen, like, (n,), -g, g).exp(),
            "blur": _uniform(gen, like, (n,), 0, 1) < config.blur_prob,
            "sigma": _uniform(gen, like, (n,), 0.2, config.blur_max_sigma),
            "noise_std": _uniform(gen, like, (n,), 0, config.noise_std),
            "grey": _uniform(gen, like, (n,), 0, 1) < config.greyscale_prob}


def random_kernels(n: int, gen: torch.Generator, like: torch.Tensor) -> torch.Tensor:
    """(n, 3, 3, 5, 5) RandConv weights: normal, each image's kernel 3x3 or 5x5 at random."""
    weights = torch.randn((n, 3, 3, _KERNEL, _KERNEL), generator=gen, device=like.device, dtype=like.dtype)
    small = _uniform(gen, like, (n,), 0, 1) < 0.5
    ring = torch.ones(_KERNEL, _KERNEL, device=like.device, dtype=like.dtype)
    ring[1:-1, 1:-1] = 0
    return weights * (1 - small.to(like.dtype).view(-1, 1, 1, 1, 1) * ring)


def appearance(x: torch.Tensor, config: AugmentConfig, draws: dict, gen: torch.Generator) -> torch.Tensor:
    """Images (N,3,H,W) in [0,1] with the appearance changes ``config`` switches on."""
    if config.randconv_prob:
        x = _per_image(draws["randconv"], _randconv(x, draws["kernel"], draws["alpha"]), x)
    if config.color_jitter:
        x = _jittered(x, draws["brightness"], draws["contrast"], draws["saturation"])
    if config.gamma_jitter:
        x = x.clamp(0, 1) ** draws["gamma"].view(-1, 1, 1, 1)
    if config.blur_prob:
        x = _per_image(draws["blur"], _blurred(x, draws["sigma"], config.blur_max_sigma), x)
    if config.noise_std:
        # drawn per frame, also within a triplet: a sensor's noise is independent from frame to frame
        noise = torch.randn(x.shape, generator=gen, device=x.device, dtype=x.dtype)
        x = (x + draws["noise_std"].view(-1, 1, 1, 1) * noise).clamp(0, 1)
    if config.greyscale_prob:
        # last: a mono camera's driver copies one grey channel, after all of the sensor's effects
        x = _per_image(draws["grey"], grey(x).expand_as(x), x)
    return x


def _per_image(mask: torch.Tensor, changed: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return torch.where(mask.view(-1, 1, 1, 1), changed, x)


def grey(x: torch.Tensor) -> torch.Tensor:
    """Luma (N,1,H,W) of images (N,3,H,W)."""
    return (x * x.new_tensor(_LUMA).view(1, 3, 1, 1)).sum(1, keepdim=True)


def _jittered(x: torch.Tensor, brightness: torch.Tensor, contrast: torch.Tensor,
              saturation: torch.Tensor) -> torch.Tensor:
    """Brightness scales, contrast about the image's mean luma, saturation about each pixel's luma."""
    x = (x * brightness.view(-1, 1, 1, 1)).clamp(0, 1)
    mean = grey(x).mean((-2, -1), keepdim=True)
    x = (mean + contrast.view(-1, 1, 1, 1) * (x - mean)).clamp(0, 1)
    luma = grey(x)
    return (luma + saturation.view(-1, 1, 1, 1) * (x - luma)).clamp(0, 1)


def _randconv(x: torch.Tensor, kernels: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """RandConv (Xu et al., ICLR 2021): a random conv mixed with the image by ``alpha``.

    The conv output is brought to the image's own mean and std (over all channels, so colours may
    still shift): raw random weights would leave [0, 1] and the clamp would flatten the image.
    """
    n, c, h, w = x.shape
    pad = _KERNEL // 2
    padded = F.pad(x.reshape(1, n * c, h, w), (pad, pad, pad, pad), mode="replicate")
    y = F.conv2d(padded, kernels.reshape(n * c, c, _KERNEL, _KERNEL), groups=n).view(n, c, h, w)
    mean, std = x.mean((1, 2, 3), keepdim=True), x.std((1, 2, 3), keepdim=True)
    y = (y - y.mean((1, 2, 3), keepdim=True)) / y.std((1, 2, 3), keepdim=True).clamp_min(1e-6) * std + mean
    a = alpha.view(-1, 1, 1, 1)
    return (a * x + (1 - a) * y).clamp(0, 1)


def _blurred(x: torch.Tensor, sigma: torch.Tensor, max_sigma: float) -> torch.Tensor:
    """Separable Gaussian blur with one sigma (px) per image; borders replicated."""
    n, c, h, w = x.shape
    radius = math.ceil(3 * max_sigma)
    taps = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)
    kernel = torch.exp(-0.5 * (taps / sigma.view(-1, 1)) ** 2)
    kernel = (kernel / kernel.sum(1, keepdim=True)).repeat_interleave(c, 0)  # (n*c, 2r+1)
    y = F.pad(x.reshape(1, n * c, h, w), (radius, radius, 0, 0), mode="replicate")
    y = F.conv2d(y, kernel.view(n * c, 1, 1, -1), groups=n * c)
    y = F.pad(y, (0, 0, radius, radius), mode="replicate")
    return F.conv2d(y, kernel.view(n * c, 1, -1, 1), groups=n * c).view(n, c, h, w)

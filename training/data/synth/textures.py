"""Procedural solid textures and natural photo patches (from scikit-image's bundled images).

All textures are functions of the surface point in the part's local frame, so they stick to
objects when the camera moves (needed for the photometric reprojection loss). Photo patches use
a planar projection onto the two local axes orthogonal to the dominant local normal axis.
"""
from __future__ import annotations

import os
from functools import lru_cache

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from training.data.synth.scene import CHECKER, FLAT, MARBLE, NOISE, PHOTO, STRIPES, WOOD

# images that ship inside the scikit-image wheel (no download). Test split photos are held out.
# (hubble_deep_field and immunohistochemistry were dropped: star fields and stained tissue taught
# patterns no robot sees.)
TRAIN_PHOTOS = ("brick", "grass", "gravel", "astronaut", "coffee", "chelsea", "rocket", "camera",
                "moon")
TEST_PHOTOS = ("coins", "clock", "retina", "page")
ALL_PHOTOS = TRAIN_PHOTOS + TEST_PHOTOS
TILE = 256
NOISE_RES = 64
NOISE_CELL = 8


def photo_indices(split: str) -> list[int]:
    """Atlas tiles a split may use: train/val share TRAIN_PHOTOS, test uses only TEST_PHOTOS."""
    names = TEST_PHOTOS if split == "test" else TRAIN_PHOTOS
    return [ALL_PHOTOS.index(n) for n in names]


# A machine without scikit-image (the GPU machine) reads the atlas baked by
# ``save_atlas`` from the file this variable names.
ATLAS_ENV = "MODOT_PHOTO_ATLAS"


def save_atlas(path: str) -> str:
    """Bake the photo atlas (uint8, ~2.5 MB) for machines without scikit-image."""
    atlas, gray = _atlas_numpy()
    linear = np.round(np.clip(atlas, 0, 1) ** (1 / 2.2) * 255).astype(np.uint8)
    np.savez_compressed(path, atlas=linear, gray=gray, names=np.array(ALL_PHOTOS))
    return path


@lru_cache(maxsize=1)
def _atlas_numpy() -> tuple[np.ndarray, np.ndarray]:
    baked = os.environ.get(ATLAS_ENV)
    if baked:
        data = np.load(baked)
        if tuple(data["names"]) != ALL_PHOTOS:
            raise ValueError(f"{baked} ({ATLAS_ENV}) holds photos {list(data['names'])}, this code "
                             f"uses {list(ALL_PHOTOS)}; bake it again with scripts/gpu_bundle.py")
        return (data["atlas"].astype(np.float32) / 255.0) ** 2.2, data["gray"]
    import skimage.data as data
    tiles, gray = [], []
    for name in ALL_PHOTOS:
        img = np.asarray(getattr(data, name)())
        if img.ndim == 3 and img.shape[2] == 4:
            img = img[..., :3]
        gray.append(img.ndim == 2)
        img = np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img
        s = min(img.shape[:2])
        y0, x0 = (img.shape[0] - s) // 2, (img.shape[1] - s) // 2
        img = cv2.resize(img[y0:y0 + s, x0:x0 + s], (TILE, TILE), interpolation=cv2.INTER_AREA)
        tiles.append((img.astype(np.float32) / 255.0) ** 2.2)  # to linear light
    atlas = np.concatenate(tiles, axis=1)  # (TILE, N*TILE, 3)
    return atlas.transpose(2, 0, 1)[None].copy(), np.array(gray)


@lru_cache(maxsize=4)
def _atlas(device: str) -> tuple[torch.Tensor, torch.Tensor]:
    atlas, gray = _atlas_numpy()
    return torch.from_numpy(atlas).to(device), torch.from_numpy(gray).to(device)


@lru_cache(maxsize=8)
def _fbm_volume(device: str, octaves: int) -> torch.Tensor:
    """Periodic fractal value noise, all octaves pre-summed into one volume (one lookup per use).

    One lattice cell of the base octave spans NOISE_CELL voxels; the volume repeats every
    NOISE_RES / NOISE_CELL units, and each finer octave halves the cell size.
    """
    rng = np.random.default_rng(1234)
    total = torch.zeros(1, 1, NOISE_RES, NOISE_RES, NOISE_RES)
    amp, norm = 1.0, 0.0
    for o in range(octaves):
        cells = (NOISE_RES // NOISE_CELL) * 2 ** o
        grid = torch.from_numpy(rng.random((cells,) * 3, dtype=np.float32))[None, None]
        grid = torch.cat([grid, grid[:, :, :1]], 2)
        grid = torch.cat([grid, grid[:, :, :, :1]], 3)
        grid = torch.cat([grid, grid[..., :1]], 4)  # wrap so the upsampled octave is periodic
        up = F.interpolate(grid, size=(NOISE_RES + 1,) * 3, mode="trilinear", align_corners=True)
        total += amp * up[..., :NOISE_RES, :NOISE_RES, :NOISE_RES]
        norm += amp
        amp *= 0.5
    vol = F.pad(total / norm, (0, 1, 0, 1, 0, 1), mode="circular")
    return vol.to(device)


def value_noise(p: torch.Tensor, octaves: int = 4) -> torch.Tensor:
    """Fractal value noise in [0, 1] at points p (N,3) (1 unit = 1 base lattice cell)."""
    vol = _fbm_volume(str(p.device), octaves)
    period = NOISE_RES / NOISE_CELL
    q = torch.remainder(p, period) / period * 2 - 1
    return F.grid_sample(vol, q.view(1, 1, 1, -1, 3), align_corners=True).view(-1)


def _photo(p_l: torch.Tensor, n_l: torch.Tensor, scale: torch.Tensor, photo: torch.Tensor, c1: torch.Tensor):
    atlas, gray = _atlas(str(p_l.device))
    axis = n_l.abs().argmax(-1)
    keep = torch.tensor([[1, 2], [0, 2], [0, 1]], device=p_l.device).index_select(0, axis)
    uv = torch.gather(p_l, 1, keep) * (scale[:, None] * 0.4)  # one photo tile per 0.25-2.5 m
    uv = torch.remainder(uv, 1.0) * (TILE - 2) / TILE + 1.0 / TILE
    n_tiles = atlas.shape[-1] // TILE
    gx = (photo.float() + uv[:, 0]) / n_tiles * 2 - 1
    gy = uv[:, 1] * 2 - 1
    rgb = F.grid_sample(atlas, torch.stack([gx, gy], -1).view(1, 1, -1, 2), align_corners=False)
    rgb = rgb.view(3, -1).t()
    tint = c1 / c1.mean(-1, keepdim=True).clamp_min(0.05) * 0.9
    return torch.where(gray.index_select(0, photo)[:, None], rgb * tint, rgb)


def _pattern(kind: int, p: torch.Tensor, off: torch.Tensor) -> torch.Tensor:
    """Scalar pattern in [0,1] of one procedural kind at scaled points p (N,3)."""
    if kind == CHECKER:
        return (torch.floor(p + off).sum(-1).remainder(2) == 0).float()
    if kind == STRIPES:
        direction = F.normalize(off, dim=-1)
        return (torch.sin((p * direction).sum(-1) * 6.2832) > 0.3).float()
    if kind == NOISE:
        return value_noise(p * 1.5 + off, 3).sub(0.5).mul(2.5).add(0.5).clamp(0, 1)
    if kind == WOOD:
        r = torch.sqrt(p[:, 0] ** 2 + p[:, 1] ** 2) * 2.0 \
            + 1.5 * value_noise(p * torch.tensor([0.6, 0.6, 0.1], device=p.device) + off, 2)
        return torch.remainder(r, 1.0) ** 3
    if kind == MARBLE:
        return 0.5 + 0.5 * torch.sin(p[:, 0] * 2.0 + 8.0 * value_noise(p * 0.7 + off, 4))
    raise ValueError(f"unknown texture kind {kind}")


def _take(x: torch.Tensor, sel: torch.Tensor | None) -> torch.Tensor:
    """Rows ``sel`` of x (index_select is much faster than advanced indexing on CPU)."""
    return x if sel is None else x.index_select(0, sel)


def albedo(p_l: torch.Tensor, n_l: torch.Tensor, attrs: dict) -> torch.Tensor:
    """Linear RGB albedo, shape (N,3), from local points/normals and gathered per-pixel part attributes."""
    tex, c1, c2 = attrs["tex"], attrs["c1"], attrs["c2"]
    out = c1.clone()
    N = tex.shape[0]
    for kind in (FLAT, CHECKER, STRIPES, NOISE, WOOD, MARBLE, PHOTO):
        sel = (tex == kind).nonzero().squeeze(1)
        if sel.numel() == 0:
            continue
        sel = None if sel.numel() == N else sel  # one texture everywhere: no gathers at all
        off = _take(attrs["tex_off"], sel)
        if kind == FLAT:  # subtle low-frequency variation so flat paint is not perfectly uniform
            val = _take(c1, sel) * (0.9 + 0.2 * value_noise(_take(p_l, sel) * 2.0 + off, 2))[:, None]
        elif kind == PHOTO:
            val = _photo(_take(p_l, sel), _take(n_l, sel), _take(attrs["tex_scale"], sel),
                         _take(attrs["photo"], sel), _take(c1, sel))
        else:
            w = _pattern(kind, _take(p_l, sel) * _take(attrs["tex_scale"], sel)[:, None], off)[:, None]
            val = _take(c1, sel) * (1 - w) + _take(c2, sel) * w
        out = val if sel is None else out.index_copy_(0, sel, val)
    return out

"""Batched renderer: exact ray casting -> RGB, depth, instances, normals, occlusion boundaries.

Shading is linear-light Lambert (hemispherical ambient + one point or directional light with
cast shadows from shadow rays) plus optional Blinn-Phong specular, then camera effects
(white balance, auto exposure with a random offset, vignetting, blur, signal-dependent noise,
gamma, 8-bit quantisation). Everything is torch and runs batched on CPU or CUDA.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from training.data.synth import textures
from training.data.synth.culling import bounding_radius, cast, primary_pairs, shadow_pairs, tile_pixels
from training.data.synth.labels import occlusion_boundaries
from training.data.synth.scene import BOX, CYLINDER, PLANE, ROOM, SPHERE, TORUS, Scene, pack_lights, pack_scenes

MIN_DEPTH_M, MAX_DEPTH_M = 0.3, 20.0
FLOAT_FIELDS = {"center": (3,), "rot": (3, 3), "params": (3,), "c1": (3,), "c2": (3,),
                "tex_scale": (), "tex_off": (3,), "spec": ()}
INT_FIELDS = ("ptype", "inst", "convex", "tex", "photo")


def _gather_attrs(parts: dict, idx: torch.Tensor) -> dict:
    """Per-pixel part attributes at part indices idx (B,P) (misses read part 0; mask later).

    Fields are packed into one float and one int table so that only two gathers run.
    """
    B, P = idx.shape
    fl = torch.cat([parts[k].reshape(B, -1, max(1, int(np.prod(s)))) for k, s in FLOAT_FIELDS.items()], -1)
    it = torch.stack([parts[k].long() for k in INT_FIELDS], -1)
    M = fl.shape[1]
    rows = (idx.clamp_min(0) + torch.arange(B, device=idx.device)[:, None] * M).view(-1)
    gf = fl.view(B * M, -1).index_select(0, rows).view(B, P, -1)  # contiguous row copies
    gi = it.view(B * M, -1).index_select(0, rows).view(B, P, -1)
    out, o = {}, 0
    for k, s in FLOAT_FIELDS.items():
        n = max(1, int(np.prod(s)))
        out[k] = gf[..., o:o + n].reshape(B, P, *s)
        o += n
    for j, k in enumerate(INT_FIELDS):
        out[k] = gi[..., j]
    out["convex"] = out["convex"].bool()
    return out


def _mat_t_vec(R: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """R^T v for per-pixel 3x3 R (...,3,3) and v (...,3) without tiny batched matmuls."""
    return R[..., 0, :] * v[..., :1] + R[..., 1, :] * v[..., 1:2] + R[..., 2, :] * v[..., 2:3]


def _mat_vec(R: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return R[..., :, 0] * v[..., :1] + R[..., :, 1] * v[..., 1:2] + R[..., :, 2] * v[..., 2:3]


def _local_normal(ptype, p, params):
    """Outward unit normal in the part frame (room normals point inwards); per type on its pixels."""
    shape = p.shape
    p, params, ptype = p.reshape(-1, 3), params.reshape(-1, 3), ptype.reshape(-1)
    n = torch.zeros_like(p)
    for kind in (BOX, ROOM, SPHERE, CYLINDER, TORUS, PLANE):
        sel = (ptype == kind).nonzero().squeeze(1)
        if sel.numel() == 0:
            continue
        q, prm = p.index_select(0, sel), params.index_select(0, sel)
        if kind in (BOX, ROOM):
            axis = (q.abs() / prm.clamp_min(1e-6)).argmax(-1, keepdim=True)
            v = torch.zeros_like(q).scatter_(-1, axis, 1.0) * torch.sign(q) * (1.0 if kind == BOX else -1.0)
        elif kind == SPHERE:
            v = q
        elif kind == CYLINDER:
            cap = (q[:, 2].abs() >= prm[:, 1] * (1 - 1e-4))[:, None]
            v = torch.where(cap, torch.stack([0 * q[:, 0], 0 * q[:, 0], torch.sign(q[:, 2])], -1),
                            q * torch.tensor([1.0, 1.0, 0.0], device=q.device))
        elif kind == TORUS:  # gradient of the quartic (|p|^2 + R^2 - r^2)^2 - 4 R^2 (x^2 + y^2)
            k = (q * q).sum(-1, keepdim=True) + prm[:, :1] ** 2 - prm[:, 1:2] ** 2
            v = 4 * k * q - 8 * prm[:, :1] ** 2 * q * torch.tensor([1.0, 1.0, 0.0], device=q.device)
        else:
            v = torch.tensor([0.0, 0.0, 1.0], device=q.device).expand_as(q)
        n.index_copy_(0, sel, F.normalize(v, dim=-1))
    return n.view(shape)


def camera_rays(K: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(B,P,3) camera-frame rays (x/z, y/z, 1) through pixel centres (integer coordinates)."""
    v, u = torch.meshgrid(torch.arange(height, device=K.device, dtype=K.dtype),
                          torch.arange(width, device=K.device, dtype=K.dtype), indexing="ij")
    x = (u.reshape(1, -1) - K[:, 0, 2:3]) / K[:, 0, 0:1]
    y = (v.reshape(1, -1) - K[:, 1, 2:3]) / K[:, 1, 1:2]
    return torch.stack([x, y, torch.ones_like(x)], -1)


def _sky(d_w: torch.Tensor, lights: dict) -> torch.Tensor:
    """Sky radiance (N,3) for world ray directions (N,3); ``lights`` rows are per ray."""
    dn = F.normalize(d_w, dim=-1)
    elev = dn[:, 2].clamp(0, 1) ** 0.5
    col = lights["sky_horizon"] * (1 - elev[:, None]) + lights["sky_zenith"] * elev[:, None]
    uv = dn[:, :2] / (dn[:, 2:3].clamp_min(0.02) + 0.1) * 0.6
    cl = textures.value_noise(torch.cat([uv, torch.zeros_like(uv[:, :1])], -1), 4)
    cover = ((cl - 1 + lights["clouds"] * 0.6) * 4).clamp(0, 1) * (dn[:, 2] > 0)
    return (col * (1 - cover[:, None]) + 0.95 * cover[:, None]) * lights["outdoor"][:, None]


def _visibility(origin, to_light, facing, parts, lights, pix):
    """Shadow-ray visibility (B,P) in {0,1} of the light from every lit-facing surface point."""
    is_pt = lights["light_is_point"] > 0
    pairs = shadow_pairs(origin, facing, lights["light_pos"], is_pt, parts, pix)
    t, _ = cast(origin, to_light, parts, pairs, pix)
    return torch.where(is_pt[:, None], t >= 1.0, torch.isinf(t)).float()


def _shade(X, z, hit, n_w, d_w, alb, spec, parts, lights, pix):
    """Linear radiance (B,P,3) with cast shadows from shadow rays."""
    is_pt = lights["light_is_point"][:, None, None]
    to_light = lights["light_pos"][:, None] - X * is_pt  # point: vector to light; sun: direction
    dist2 = (to_light * to_light).sum(-1)
    origin = X + n_w * (1e-3 + 1e-3 * z.clamp_max(100))[..., None]  # avoid self-shadow acne
    facing = hit & ((n_w * to_light).sum(-1) > 0)
    lit = _visibility(origin, to_light, facing, parts, lights, pix)
    ldir = F.normalize(to_light, dim=-1)
    inten = torch.where(is_pt[..., 0] > 0, lights["light_power"][:, None] / (1.0 + dist2),
                        lights["light_power"][:, None].expand_as(dist2))
    ndl = (n_w * ldir).sum(-1).clamp_min(0)
    amb = lights["ambient"][:, None] * (0.75 + 0.25 * n_w[..., 2])
    direct = ndl * inten * lit
    light = lights["light_color"][:, None]
    rad = alb * (amb + direct)[..., None] * light
    shiny = (spec > 0) & (direct > 0)
    if shiny.any():  # Blinn-Phong only where a material is glossy and lit
        b, p = shiny.nonzero(as_tuple=True)
        half = F.normalize(ldir[b, p] - F.normalize(d_w[b, p], dim=-1), dim=-1)
        s_term = spec[b, p] * (n_w[b, p] * half).sum(-1).clamp_min(0) ** 32 * inten[b, p] * lit[b, p]
        rad[b, p] += s_term[:, None] * light[b, 0]
    return rad


def _gauss_blur(x: torch.Tensor) -> torch.Tensor:
    """Separable binomial [1,4,6,4,1]/16 blur (sigma ~1 px) with edge replication."""
    w = (1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16)
    xp = F.pad(x, (2, 2, 0, 0), mode="replicate")
    x = sum(wk * xp[..., k:k + x.shape[-1]] for k, wk in enumerate(w))
    xp = F.pad(x, (0, 0, 2, 2), mode="replicate")
    return sum(wk * xp[..., k:k + x.shape[-2], :] for k, wk in enumerate(w))


def _camera_effects(lin: torch.Tensor, lights: dict, seeds: list[int], noise: bool,
                    exposure_ref: list[int]) -> torch.Tensor:
    """Linear (B,3,H,W) radiance -> uint8 sRGB-like image with exposure, blur, noise, gamma."""
    B, _, H, W = lin.shape
    lin = lin * lights["wb"][:, :, None, None]
    # auto exposure to a mid-grey mean (frames of one sequence share their key frame's gain,
    # so brightness constancy holds for the photometric loss), then the scene's offset
    mean = lin.mean((1, 2, 3), keepdim=True).clamp_min(1e-4)[exposure_ref]
    lin = lin * (0.22 / mean) * lights["exposure"][:, None, None, None]
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, H, device=lin.device), torch.linspace(-1, 1, W, device=lin.device),
                            indexing="ij")
    lin = lin * (1 - lights["vignette"][:, None, None, None] * (xx ** 2 + yy ** 2)[None, None] / 2)
    if bool((lights["blur"] > 0).any()):
        lin = lin + lights["blur"][:, None, None, None] * (_gauss_blur(lin) - lin)
    if noise:
        eps = torch.stack([torch.randn(3, H, W, generator=torch.Generator(device=lin.device).manual_seed(s + 7),
                                       device=lin.device) for s in seeds])
        lin = lin + eps * lights["noise"][:, None, None, None] * (0.3 + lin.clamp(0, 1).sqrt())
    out = lin.clamp(0, 1) ** (1.0 / lights["gamma"][:, None, None, None])
    return (out * 255 + 0.5).to(torch.uint8)


def _surfaces(parts: dict, o_w, d_w, height: int, width: int) -> dict:
    """Primary ray cast + per-pixel part attributes, hit points and normals (world frame)."""
    parts["radius"] = bounding_radius(parts["ptype"], parts["params"])
    pix = tile_pixels(height, width, str(d_w.device))
    t, idx = cast(o_w, d_w, parts, primary_pairs(o_w, d_w, parts, pix), pix)
    hit = idx >= 0
    attrs = _gather_attrs(parts, idx)
    X = o_w + torch.where(hit, t, torch.zeros_like(t))[..., None] * d_w
    p_l = _mat_t_vec(attrs["rot"], X - attrs["center"])
    n_l = _local_normal(attrs["ptype"], p_l, attrs["params"])
    n_w = _mat_vec(attrs["rot"], n_l)
    n_w = torch.where(((n_w * d_w).sum(-1) > 0)[..., None], -n_w, n_w)  # face the camera
    z = torch.where(hit, t, torch.full_like(t, float("inf")))
    return {"pix": pix, "idx": idx, "hit": hit, "attrs": attrs, "z": z, "X": X, "p_l": p_l, "n_l": n_l, "n_w": n_w}


def _appearance(g: dict, parts: dict, lights: dict, d_w, size, seeds, noise, exposure_ref) -> torch.Tensor:
    """Textured, shaded, shadowed radiance + sky, through the camera model -> uint8 (B,3,H,W)."""
    B, attrs, hit = d_w.shape[0], g["attrs"], g["hit"]
    flat = {k: v.reshape(-1, *v.shape[2:]) for k, v in attrs.items()}
    alb = textures.albedo(g["p_l"].reshape(-1, 3), g["n_l"].reshape(-1, 3), flat).view(B, -1, 3)
    rad = _shade(g["X"], g["z"].clamp_max(1e4), hit, g["n_w"], d_w, alb, attrs["spec"], parts, lights, g["pix"])
    sky = (~hit).nonzero()
    if sky.numel():
        rad[sky[:, 0], sky[:, 1]] = _sky(d_w[sky[:, 0], sky[:, 1]], {k: v[sky[:, 0]] for k, v in lights.items()})
    return _camera_effects(rad.transpose(1, 2).reshape(B, 3, *size), lights, seeds, noise, exposure_ref)


def render_batch(scenes: list[Scene], height: int, width: int, poses: list[np.ndarray] | None = None,
                 device: str | torch.device = "cpu", seeds: list[int] | None = None, noise: bool = True,
                 exposure_ref: list[int] | None = None) -> dict:
    """Render B scenes (each from its key-frame pose unless ``poses`` given) in one batch.

    Returns (B,...) tensors: rgb uint8 (3,H,W), depth float32 (1,H,W) metres NaN invalid,
    boundary uint8 {0,1} (1,H,W), orientation float32 (1,H,W) NaN off-boundary, instance int32
    (1,H,W) 0 = sky, normal float32 (3,H,W) camera frame (0 for sky), K float32 (3,3),
    pose float64 (4,4) camera-to-world. ``seeds`` seed the camera noise per image;
    ``exposure_ref[i]`` is the image whose auto-exposure gain image i uses (default: its own).
    """
    if height < 2 or width < 2:
        raise ValueError(f"image size must be at least 2x2, got {height}x{width}")
    B, shp = len(scenes), (len(scenes), height, width)
    seeds = list(seeds) if seeds is not None else list(range(B))
    poses = poses if poses is not None else [s.trajectory.pose(0.0) for s in scenes]
    pose64 = torch.as_tensor(np.stack(poses), dtype=torch.float64, device=device)
    pose = pose64.float()
    K = torch.as_tensor(np.stack([s.intrinsics(height, width) for s in scenes]), dtype=torch.float32, device=device)
    parts, lights = pack_scenes(scenes, device), pack_lights(scenes, device)
    r_c = camera_rays(K, height, width)
    d_w = r_c @ pose[:, :3, :3].transpose(1, 2)
    g = _surfaces(parts, pose[:, None, :3, 3], d_w, height, width)
    rgb = _appearance(g, parts, lights, d_w, (height, width), seeds, noise,
                      exposure_ref if exposure_ref is not None else list(range(B)))
    z, hit = g["z"], g["hit"]
    valid = hit & (z >= MIN_DEPTH_M) & (z <= MAX_DEPTH_M)
    n_c = _mat_t_vec(pose[:, None, :3, :3], g["n_w"]) * hit[..., None]
    ob, orient = occlusion_boundaries(z.view(shp), g["idx"].view(shp), g["attrs"]["convex"].view(shp),
                                      n_c.view(*shp, 3), r_c.view(*shp, 3), valid.view(shp), g["X"].view(*shp, 3),
                                      parts, torch.minimum(K[:, 0, 0], K[:, 1, 1]))
    return {
        "rgb": rgb,
        "depth": torch.where(valid, z, torch.full_like(z, float("nan"))).view(B, 1, height, width),
        "boundary": ob.to(torch.uint8).view(B, 1, height, width),
        "orientation": orient.view(B, 1, height, width),
        "instance": torch.where(hit, g["attrs"]["inst"], 0).to(torch.int32).view(B, 1, height, width),
        "normal": n_c.transpose(1, 2).reshape(B, 3, height, width).contiguous(),
        "K": K, "pose": pose64,
    }

"""Exact, batched ray-primitive intersection in torch (CPU or CUDA).

Every primitive lives in its own local frame (``X_world = R @ X_local + c``). Rays are
``o + t d`` with ``d`` *not* necessarily unit length: primary rays use ``d = (x/z, y/z, 1)``
in the camera frame so that ``t`` is directly the planar depth.

Shapes: the ``hit_<type>`` functions take local rays ``o_l`` (Q,1|S,3), ``d_l`` (Q,S,3) and
primitive parameters (Q,1,3) and return ``t`` (Q,S) with ``inf`` for a miss. ``culling.py``
decides which (tile of pixels, primitive) pairs Q are worth testing.

Torus: exact ray/torus needs a quartic root. We sphere-trace the exact torus SDF (a true
distance, so tracing never overshoots the first root), only for rays that hit the torus
bounding sphere, then polish with Newton steps on the quartic
``f(t) = (|p|^2 + R^2 - r^2)^2 - 4 R^2 (px^2 + py^2)`` so the root is exact to float32.
"""
from __future__ import annotations

import torch

from training.synth.scene import BOX, CYLINDER, PLANE, ROOM, SPHERE, TORUS

T_EPS = 1e-4  # minimum ray parameter; shadow origins are offset along the normal anyway
INF = float("inf")


def _safe_inv(x: torch.Tensor) -> torch.Tensor:
    # keep the sign of zero directions so slab tests give +-inf, never NaN
    return 1.0 / torch.where(x.abs() < 1e-12, torch.full_like(x, 1e-12) * torch.sign(x + 1e-30), x)


def box_interval(o_l, d_l, half):
    """Slab test: entry/exit ray parameters of an axis-aligned box of half-extents ``half``."""
    inv = _safe_inv(d_l)
    h = half
    t1 = (-h - o_l) * inv
    t2 = (h - o_l) * inv
    tmin = torch.minimum(t1, t2).amax(-1)
    tmax = torch.maximum(t1, t2).amin(-1)
    return tmin, tmax


def hit_box(o_l, d_l, params):
    tmin, tmax = box_interval(o_l, d_l, params)
    ok = (tmax >= tmin) & (tmin > T_EPS)
    return torch.where(ok, tmin, INF)


def hit_room(o_l, d_l, params):
    """Inside of a box (room seen from within): the exit parameter."""
    tmin, tmax = box_interval(o_l, d_l, params)
    ok = (tmax >= tmin) & (tmax > T_EPS)
    return torch.where(ok, tmax, INF)


def _quadratic_near(a, b, c):
    """Smallest root > T_EPS of a t^2 + 2 b t + c = 0 (inf if none)."""
    disc = b * b - a * c
    sq = torch.sqrt(disc.clamp_min(0))
    a_safe = torch.where(a.abs() < 1e-20, torch.ones_like(a), a)
    t = (-b - sq) / a_safe
    ok = (disc >= 0) & (t > T_EPS) & (a.abs() >= 1e-20)
    return torch.where(ok, t, INF)


def hit_sphere(o_l, d_l, params):
    r = params[..., 0]
    a = (d_l * d_l).sum(-1)
    b = (o_l * d_l).sum(-1)
    c = (o_l * o_l).sum(-1) - r * r
    return _quadratic_near(a, b, c)


def hit_cylinder(o_l, d_l, params):
    """Capped cylinder, axis local z, radius params[0], half-height params[1]."""
    r, h = params[..., 0], params[..., 1]
    ox, oy, oz = o_l.unbind(-1)
    dx, dy, dz = d_l.unbind(-1)
    a = dx * dx + dy * dy
    t_side = _quadratic_near(a, ox * dx + oy * dy, ox * ox + oy * oy - r * r)
    z_side = oz + t_side * dz
    t_side = torch.where(z_side.abs() <= h, t_side, INF)
    dz_safe = torch.where(dz.abs() < 1e-12, torch.full_like(dz, 1e-12), dz)
    t_cap = (-torch.sign(dz_safe) * h - oz) / dz_safe
    xc, yc = ox + t_cap * dx, oy + t_cap * dy
    t_cap = torch.where((t_cap > T_EPS) & (xc * xc + yc * yc <= r * r), t_cap, INF)
    return torch.minimum(t_side, t_cap)


def hit_plane(o_l, d_l, params):
    """Infinite plane local z = 0 (two-sided)."""
    oz, dz = o_l[..., 2], d_l[..., 2]
    dz_safe = torch.where(dz.abs() < 1e-12, torch.full_like(dz, 1e-12), dz)
    t = -oz / dz_safe
    return torch.where(t > T_EPS, t, INF)


def torus_sdf(p: torch.Tensor, big_r: torch.Tensor, small_r: torch.Tensor) -> torch.Tensor:
    q = torch.sqrt(p[..., 0] ** 2 + p[..., 1] ** 2) - big_r
    return torch.sqrt(q * q + p[..., 2] ** 2) - small_r


def _torus_quartic(p, d, big_r, small_r):
    k = (p * p).sum(-1) + big_r ** 2 - small_r ** 2
    f = k * k - 4 * big_r ** 2 * (p[..., 0] ** 2 + p[..., 1] ** 2)
    df = 4 * k * (p * d).sum(-1) - 8 * big_r ** 2 * (p[..., 0] * d[..., 0] + p[..., 1] * d[..., 1])
    return f, df


def hit_torus(o_l, d_l, params, steps: int = 48, newton: int = 3):
    """Torus, axis local z, major radius params[0], tube radius params[1]."""
    big_r, small_r = params[..., 0], params[..., 1]
    o_l, d_l = torch.broadcast_tensors(o_l, d_l)
    big_r, small_r = big_r.expand(o_l.shape[:-1]), small_r.expand(o_l.shape[:-1])
    out = torch.full(o_l.shape[:-1], INF, dtype=o_l.dtype, device=o_l.device)
    # bounding sphere of radius R + r restricts tracing to the few rays that can hit
    rb = big_r + small_r
    a = (d_l * d_l).sum(-1)
    b = (o_l * d_l).sum(-1)
    c = (o_l * o_l).sum(-1) - rb * rb
    disc = b * b - a * c
    t_exit = (-b + torch.sqrt(disc.clamp_min(0))) / a
    cand = (disc > 0) & (t_exit > T_EPS) & (small_r > 0)
    idx = cand.reshape(-1).nonzero().squeeze(1)
    if idx.numel() == 0:
        return out
    o, d = o_l.reshape(-1, 3)[idx], d_l.reshape(-1, 3)[idx]
    bR, sr = big_r.reshape(-1)[idx], small_r.reshape(-1)[idx]
    an = a.reshape(-1)[idx]
    t = ((-b.reshape(-1)[idx] - torch.sqrt(disc.reshape(-1)[idx])) / an).clamp_min(T_EPS)
    t_end = t_exit.reshape(-1)[idx]
    dn = torch.sqrt(an)
    for _ in range(steps):
        dist = torus_sdf(o + t[:, None] * d, bR, sr)
        t = t + dist.clamp_min(0) / dn
    for _ in range(newton):
        f, df = _torus_quartic(o + t[:, None] * d, d, bR, sr)
        step = f / torch.where(df.abs() < 1e-20, torch.ones_like(df), df)
        lim = 0.1 * sr / dn  # Newton only polishes; never let it jump to another root
        t = t - torch.maximum(torch.minimum(step, lim), -lim)
    dist = torus_sdf(o + t[:, None] * d, bR, sr)
    hit = (dist.abs() < 1e-3 * sr.clamp_min(1e-3) + 1e-5 * t * dn) & (t <= t_end) & (t > T_EPS)
    out.view(-1)[idx] = torch.where(hit, t, INF)
    return out



"""Exact, batched ray-primitive intersection in torch (CPU or CUDA).

Every primitive lives in its own local frame (``X_world = R @ X_local + c``). Rays are
``o + t d`` with ``d`` *not* necessarily unit length: primary rays use ``d = (x/z, y/z, 1)``
in the camera frame so that ``t`` is directly the planar depth.

Layout: vectors are component-first so every component is one contiguous array. The
``hit_<type>`` functions take local rays ``o`` (3,Q,1|S), ``d`` (3,Q,S) and primitive parameters
``prm`` (3,Q,1) and return ``t`` (Q,S) with ``inf`` for a miss. ``culling.py``
decides which (tile of pixels, primitive) pairs Q are worth testing.

Torus: exact ray/torus needs a quartic root. We sphere-trace the exact torus SDF (a true
distance, so tracing never overshoots the first root), only for rays that hit the torus
bounding sphere, then polish with Newton steps on the quartic
``f(t) = (|p|^2 + R^2 - r^2)^2 - 4 R^2 (px^2 + py^2)`` so the root is exact to float32.
"""
from __future__ import annotations

import torch

T_EPS = 1e-4  # minimum ray parameter; shadow origins are offset along the normal anyway
INF = float("inf")


def dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _safe_div(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    # keep the sign of zero directions so slab tests give +-inf, never NaN
    tiny = torch.where(den >= 0, 1e-12, -1e-12)
    return num / torch.where(den.abs() < 1e-12, tiny, den)


def box_interval(o, d, half):
    """Slab test: entry/exit ray parameters of an axis-aligned box of half-extents ``half``."""
    t1 = _safe_div(-half - o, d)
    t2 = _safe_div(half - o, d)
    return torch.minimum(t1, t2).amax(0), torch.maximum(t1, t2).amin(0)


def hit_box(o, d, prm):
    tmin, tmax = box_interval(o, d, prm)
    return torch.where((tmax >= tmin) & (tmin > T_EPS), tmin, INF)


def hit_room(o, d, prm):
    """Inside of a box (room seen from within): the exit parameter."""
    tmin, tmax = box_interval(o, d, prm)
    return torch.where((tmax >= tmin) & (tmax > T_EPS), tmax, INF)


def _quadratic_near(a, b, c):
    """Smallest root > T_EPS of a t^2 + 2 b t + c = 0 (inf if none)."""
    disc = b * b - a * c
    t = (-b - torch.sqrt(disc.clamp_min(0))) / torch.where(a.abs() < 1e-20, 1.0, a)
    return torch.where((disc >= 0) & (t > T_EPS) & (a.abs() >= 1e-20), t, INF)


def hit_sphere(o, d, prm):
    return _quadratic_near(dot(d, d), dot(o, d), dot(o, o) - prm[0] * prm[0])


def hit_cylinder(o, d, prm):
    """Capped cylinder, axis local z, radius prm[0], half-height prm[1]."""
    r, h = prm[0], prm[1]
    a = d[0] * d[0] + d[1] * d[1]
    t_side = _quadratic_near(a, o[0] * d[0] + o[1] * d[1], o[0] * o[0] + o[1] * o[1] - r * r)
    t_side = torch.where((o[2] + t_side * d[2]).abs() <= h, t_side, INF)
    dz = torch.where(d[2].abs() < 1e-12, 1e-12, d[2])
    t_cap = (-torch.sign(dz) * h - o[2]) / dz
    xc, yc = o[0] + t_cap * d[0], o[1] + t_cap * d[1]
    t_cap = torch.where((t_cap > T_EPS) & (xc * xc + yc * yc <= r * r), t_cap, INF)
    return torch.minimum(t_side, t_cap)


def hit_plane(o, d, prm):
    """Infinite plane local z = 0 (two-sided)."""
    t = -o[2] / torch.where(d[2].abs() < 1e-12, 1e-12, d[2])
    return torch.where(t > T_EPS, t, INF)


def torus_sdf(p: torch.Tensor, big_r: torch.Tensor, small_r: torch.Tensor) -> torch.Tensor:
    q = torch.sqrt(p[0] * p[0] + p[1] * p[1]) - big_r
    return torch.sqrt(q * q + p[2] * p[2]) - small_r


def _torus_quartic(p, d, big_r, small_r):
    k = dot(p, p) + big_r ** 2 - small_r ** 2
    f = k * k - 4 * big_r ** 2 * (p[0] * p[0] + p[1] * p[1])
    df = 4 * k * dot(p, d) - 8 * big_r ** 2 * (p[0] * d[0] + p[1] * d[1])
    return f, df


def hit_torus(o, d, prm, steps: int = 40, newton: int = 3):
    """Torus, axis local z, major radius prm[0], tube radius prm[1]."""
    o, d = torch.broadcast_tensors(o, d)
    big_r, small_r = prm[0].expand(o.shape[1:]), prm[1].expand(o.shape[1:])
    out = torch.full(o.shape[1:], INF, dtype=o.dtype, device=o.device)
    rb = big_r + small_r  # bounding sphere: only its few rays are traced
    a, b = dot(d, d), dot(o, d)
    disc = b * b - a * (dot(o, o) - rb * rb)
    t_exit = (-b + torch.sqrt(disc.clamp_min(0))) / a
    idx = ((disc > 0) & (t_exit > T_EPS) & (small_r > 0)).reshape(-1).nonzero().squeeze(1)
    if idx.numel() == 0:
        return out
    o, d = o.reshape(3, -1).index_select(1, idx), d.reshape(3, -1).index_select(1, idx)
    bR, sr = big_r.reshape(-1)[idx], small_r.reshape(-1)[idx]
    an = a.reshape(-1)[idx]
    t = ((-b.reshape(-1)[idx] - torch.sqrt(disc.reshape(-1)[idx])) / an).clamp_min(T_EPS)
    t_end = t_exit.reshape(-1)[idx]
    dn = torch.sqrt(an)
    for _ in range(steps):  # the SDF is an exact distance: tracing never skips the first root
        t = t + torus_sdf(o + t * d, bR, sr).clamp_min(0) / dn
    for _ in range(newton):
        f, df = _torus_quartic(o + t * d, d, bR, sr)
        step = f / torch.where(df.abs() < 1e-20, 1.0, df)
        lim = 0.1 * sr / dn  # Newton only polishes; never let it jump to another root
        t = t - torch.maximum(torch.minimum(step, lim), -lim)
    dist = torus_sdf(o + t * d, bR, sr)
    hit = (dist.abs() < 1e-3 * sr.clamp_min(1e-3) + 1e-5 * t * dn) & (t <= t_end) & (t > T_EPS)
    out.view(-1)[idx] = torch.where(hit, t, INF)
    return out


def surface_distance(ptype: torch.Tensor, p: torch.Tensor, prm: torch.Tensor) -> torch.Tensor:
    """Unsigned distance (N,) from local points p (N,3) to the surface of primitives (N,) of ``ptype``.

    Types are the ``scene`` constants (0 box, 1 sphere, 2 cylinder, 3 torus, 4 room, 5 plane).
    """
    q = p.abs() - prm
    box = q.clamp_min(0).norm(dim=-1) + q.amax(-1).clamp_max(0)
    sphere = p.norm(dim=-1) - prm[:, 0]
    qc = torch.stack([p[:, :2].norm(dim=-1) - prm[:, 0], p[:, 2].abs() - prm[:, 1]], -1)
    cyl = qc.clamp_min(0).norm(dim=-1) + qc.amax(-1).clamp_max(0)
    tor = torus_sdf(p.t(), prm[:, 0], prm[:, 1])
    plane = p[:, 2]
    out = torch.stack([box, sphere, cyl, tor, box, plane], -1).gather(1, ptype.clamp(0, 5)[:, None])[:, 0]
    return out.abs()

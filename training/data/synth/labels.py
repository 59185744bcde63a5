"""Occlusion-boundary (OB) labels from exact per-pixel geometry.

Definition (4-neighbour pairs p, q; z planar depth, ``inf`` for sky):

* sky/sky: never a boundary. Surface/sky: boundary on the surface pixel.
* surface/surface: a *candidate* if the parts differ, or if the part is non-convex (torus: its
  near tube can hide its far side). Two faces of one convex part never occlude each other, so
  creases of boxes/cylinders are never candidates.
* Different parts: the pair is *continuous* (a contact or crease: a box on the floor, the
  handle meeting the mug body, the inner corner of an L, wall meeting floor) when one pixel's
  3D point lies on the other pixel's part surface, i.e. ``min(d_q(X_p), d_p(X_q)) <=
  K_PIX * max(z_p, z_q) / f`` with d_i the exact unsigned distance to part i's surface and
  z/f the pixel footprint; otherwise it is an occlusion. (Measuring the 3D distance to the
  real surface, not a depth difference along the ray, keeps grazing floors from firing.)
* Same non-convex part (torus): continuous when either pixel's tangent plane predicts the other's
  depth: ``z_q' = z_p (n_p . r_p) / (n_p . r_q)`` (r = (x/z, y/z, 1)) with relative residual
  ``|z_q' - z_q| / min(z_p, z_q) <= TAU_REL``. So the near tube of a torus seen edge-on, or
  the handle in front of the mug body, ARE boundaries (self-occlusion).
* The boundary pixel is the nearer one (occluding side): exactly 1 pixel wide per pair.
* Orientation: angle (radians, image x right / y down) of the summed unit steps from the
  boundary pixel towards its farther neighbours, i.e. pointing into the occluded side.

Pixels whose own depth lies outside the valid range are not labelled (their depth is NaN).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from training.data.synth.intersect import surface_distance

TAU_REL = 0.02
K_PIX = 2.0


def _residual(z_a, n_a, r_a, r_b, z_b):
    """Relative error of predicting z_b from the tangent plane at a (vectors (N,3))."""
    num = z_a * (n_a * r_a).sum(-1)
    den = (n_a * r_b).sum(-1)
    pred = num / torch.where(den.abs() < 1e-9, torch.full_like(den, 1e-9), den)
    res = (pred - z_b).abs() / torch.minimum(z_a, z_b)
    return torch.where(pred > 0, res, torch.full_like(res, float("inf")))


def _contact(ctx: dict, idx_a, idx_b) -> torch.Tensor:
    """True where pixel a's 3D point lies on pixel b's part surface (within the footprint)."""
    b = idx_a[0]
    m = ctx["part"][idx_b].clamp_min(0)
    X = ctx["points"][idx_a]
    c, R = ctx["parts"]["center"][b, m], ctx["parts"]["rot"][b, m]
    local = ((X - c)[:, :, None] * R).sum(1)  # R^T (X - c)
    dist = surface_distance(ctx["parts"]["ptype"][b, m], local, ctx["parts"]["params"][b, m])
    return dist <= ctx["tol"][idx_a]


def _pair(z, part, convex, n, r, dim: int, ctx: dict):
    """Boundary masks for the (near) first and second pixel of pairs along ``dim``."""
    L = z.shape[dim]
    za, zb = z.narrow(dim, 0, L - 1), z.narrow(dim, 1, L - 1)
    pa, pb = part.narrow(dim, 0, L - 1), part.narrow(dim, 1, L - 1)
    ha, hb = pa >= 0, pb >= 0
    cand = ha & hb & ((pa != pb) | ~convex.narrow(dim, 0, L - 1))
    disc = ha != hb
    idx = cand.nonzero(as_tuple=True)  # few pixels: only part changes and non-convex parts
    if idx[0].numel():
        shifted = list(idx)
        shifted[dim] = idx[dim] + 1
        shifted = tuple(shifted)
        res = torch.minimum(_residual(z[idx], n[idx], r[idx], r[shifted], z[shifted]),
                            _residual(z[shifted], n[shifted], r[shifted], r[idx], z[idx]))
        same = part[idx] == part[shifted]
        touching = _contact(ctx, idx, shifted) | _contact(ctx, shifted, idx)
        cut = torch.where(same, res > TAU_REL, ~touching)
        disc = disc.index_put(idx, disc[idx] | cut)
    return disc & (za < zb), disc & (zb < za)


def occlusion_boundaries(z: torch.Tensor, part: torch.Tensor, convex: torch.Tensor, normal: torch.Tensor,
                         rays: torch.Tensor, valid: torch.Tensor, points: torch.Tensor, parts: dict,
                         focal: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """OB mask (B,H,W) bool and orientation (B,H,W) float (NaN off-boundary).

    z: (B,H,W) planar depth, inf where no surface; part: (B,H,W) part index, -1 for sky;
    convex: (B,H,W) bool per pixel's part; normal, rays: (B,H,W,3) camera frame;
    valid: (B,H,W) bool depth within range; points: (B,H,W,3) world hit points; parts: the packed
    part tables; focal: (B,) focal length in pixels (for the footprint z/f).
    """
    zf = torch.where(torch.isfinite(z), z, torch.zeros_like(z))
    # footprint of the farther pixel of any pair: max depth over the 3x3 neighbourhood
    tol = K_PIX * F.max_pool2d(zf[:, None], 3, 1, 1)[:, 0] / focal[:, None, None]
    ctx = {"part": part, "points": points, "parts": parts, "tol": tol}
    ob = torch.zeros_like(valid)
    ox = torch.zeros_like(z)
    oy = torch.zeros_like(z)
    for dim, acc in ((2, ox), (1, oy)):
        near_a, near_b = _pair(z, part, convex, normal, rays, dim, ctx)
        L = z.shape[dim]
        ob.narrow(dim, 0, L - 1).logical_or_(near_a)
        ob.narrow(dim, 1, L - 1).logical_or_(near_b)
        acc.narrow(dim, 0, L - 1).add_(near_a.float())   # far side is at +1
        acc.narrow(dim, 1, L - 1).sub_(near_b.float())   # far side is at -1
    ob &= valid
    orient = torch.where(ob, torch.atan2(oy, ox), torch.full_like(z, float("nan")))
    return ob, orient

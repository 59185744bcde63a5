"""Tile culling + nearest-hit resolution for batched ray casting.

The image is cut into 8x8 pixel tiles. For every (scene, tile, primitive) a conservative test
against the primitive's bounding sphere decides whether any ray of the tile can hit it:

* primary rays: the tile's ray cone (axis + half angle) against the sphere;
* shadow rays: all segments from the tile's hit points (inside a ball) to the light lie within
  the ball radius of the segment from the ball centre to the light, so a capsule-sphere distance
  test is conservative. Rooms and ground planes never cast shadows on the inside scene (the light
  is inside the convex room / above the ground), so shadow rays skip them.

Only surviving pairs are intersected exactly, and the nearest hit per pixel is resolved with one
``scatter_reduce(amin)`` on a packed int64 key ``(float bits of t) << 16 | part index`` — exact
because positive float32 bit patterns sort like the floats. Works unchanged on CPU and CUDA.
"""
from __future__ import annotations

from functools import lru_cache

import torch

from training.data.synth import intersect as ix
from training.data.synth.scene import BOX, CYLINDER, PLANE, ROOM, SPHERE, TORUS

TILE = 8
HIT_FUNCS = {BOX: ix.hit_box, SPHERE: ix.hit_sphere, CYLINDER: ix.hit_cylinder, TORUS: ix.hit_torus,
             ROOM: ix.hit_room, PLANE: ix.hit_plane}
_IDX_BITS = 16


@lru_cache(maxsize=32)
def tile_pixels(height: int, width: int, device: str) -> torch.Tensor:
    """(T, TILE*TILE) flat pixel indices per tile; partial edge tiles repeat their last pixel."""
    ty, tx = -(-height // TILE), -(-width // TILE)
    ys = (torch.arange(ty)[:, None] * TILE + torch.arange(TILE)[None]).clamp_max(height - 1)
    xs = (torch.arange(tx)[:, None] * TILE + torch.arange(TILE)[None]).clamp_max(width - 1)
    pix = ys[:, None, :, None] * width + xs[None, :, None, :]  # (ty, tx, TILE, TILE)
    return pix.reshape(ty * tx, TILE * TILE).to(device)


def bounding_radius(ptype: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    """Bounding-sphere radius per part (B,M); inf for rooms/planes (always tested)."""
    r = params.norm(dim=-1)
    r = torch.where(ptype == SPHERE, params[..., 0], r)
    r = torch.where(ptype == CYLINDER, params[..., :2].norm(dim=-1), r)
    r = torch.where(ptype == TORUS, params[..., 0] + params[..., 1], r)
    return torch.where((ptype == ROOM) | (ptype == PLANE), torch.full_like(r, float("inf")), r)


def primary_pairs(o: torch.Tensor, d: torch.Tensor, parts: dict, pix: torch.Tensor) -> torch.Tensor:
    """(b, tile, part) triples (Q,3) whose tile ray cone may hit the part's bounding sphere."""
    # the widest ray of a rectangular tile is at a corner (angle to an axis is quasi-convex)
    corners = pix[:, [0, TILE - 1, TILE * (TILE - 1), TILE * TILE - 1]]
    dn = torch.nn.functional.normalize(d[:, corners], dim=-1)  # (B,T,4,3)
    axis = torch.nn.functional.normalize(dn.mean(2), dim=-1)
    half = torch.acos((dn * axis[:, :, None]).sum(-1).amin(2).clamp(-1, 1))  # (B,T)
    v = parts["center"] - o[:, :1]  # (B,M,3)
    dist = v.norm(dim=-1).clamp_min(1e-6)
    rad = parts["radius"]
    ang = torch.acos(((axis[:, :, None] * v[:, None]).sum(-1) / dist[:, None]).clamp(-1, 1))
    reach = torch.asin((rad / dist).clamp(max=1.0))[:, None]
    ok = (ang <= half[:, :, None] + reach + 1e-3) | (dist <= rad)[:, None]
    ok &= ((parts["ptype"] >= 0) & torch.isfinite(rad))[:, None]  # rooms/planes: see cast_dense
    return ok.nonzero()


def shadow_pairs(points: torch.Tensor, hit: torch.Tensor, light: torch.Tensor, is_point: torch.Tensor,
                 parts: dict, pix: torch.Tensor) -> torch.Tensor:
    """(b, tile, part) triples whose shadow-ray capsule may meet the part's bounding sphere.

    points (B,P,3) shadow-ray origins, hit (B,P) bool pixels that need a shadow ray,
    light (B,3) point-light position or unit direction towards the sun, is_point (B,) bool.
    """
    X, h = points[:, pix], hit[:, pix].float()  # (B,T,S,3), (B,T,S)
    n = h.sum(2).clamp_min(1)
    c = (X * h[..., None]).sum(2) / n[..., None]
    r_t = ((X - c[:, :, None]).norm(dim=-1) * h).amax(2)
    end = torch.where(is_point[:, None, None], light[:, None], c + light[:, None] * 1e4)
    seg = end - c  # (B,T,3)
    w = parts["center"][:, None] - c[:, :, None]  # (B,T,M,3)
    s = ((w * seg[:, :, None]).sum(-1) / (seg * seg).sum(-1).clamp_min(1e-12)[..., None]).clamp(0, 1)
    gap = (w - s[..., None] * seg[:, :, None]).norm(dim=-1)
    rad = parts["radius"]
    ok = gap <= rad[:, None] + r_t[..., None] + 1e-3
    ok &= torch.isfinite(rad)[:, None] & (h.sum(2) > 0)[..., None] & (parts["ptype"] >= 0)[:, None]
    return ok.nonzero()


def _key(t: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    t = torch.nan_to_num(t, nan=float("inf"), posinf=float("inf"))
    return (t.view(torch.int32).to(torch.int64) << _IDX_BITS) | m


def _dense(best: torch.Tensor, o_cf: torch.Tensor, d_cf: torch.Tensor, parts: dict) -> torch.Tensor:
    """Rooms and ground planes cover the whole image: test every ray, no tiles or gathers."""
    B = o_cf.shape[1]
    P = d_cf.shape[1] // B
    d_b = d_cf.view(3, B, P)
    for kind in (ROOM, PLANE):
        index = parts["by_type"].get(kind)
        if index is None:
            continue
        for n in range(index.shape[1]):
            m = index[:, n]
            mc = m.clamp_min(0)
            ar = torch.arange(B, device=m.device)
            Rt = parts["rot"][ar, mc].permute(2, 1, 0)[..., None]  # (3,3,B,1)
            rel = (o_cf - parts["center"][ar, mc].t())[..., None]  # (3,B,1)
            o_l = Rt[:, 0] * rel[0] + Rt[:, 1] * rel[1] + Rt[:, 2] * rel[2]
            d_l = Rt[:, 0] * d_b[0] + Rt[:, 1] * d_b[1] + Rt[:, 2] * d_b[2]
            t = HIT_FUNCS[kind](o_l, d_l, parts["params"][ar, mc].t()[..., None])
            t = torch.where((m >= 0)[:, None], t, float("inf"))
            best = torch.minimum(best, _key(t, mc[:, None]).view(-1))
    return best


def cast(o: torch.Tensor, d: torch.Tensor, parts: dict, pairs: torch.Tensor, pix: torch.Tensor):
    """Nearest hit per pixel: t (B,P) (inf on miss) and part index (B,P) (-1 on miss).

    o: (B,1,3) shared origins (primary rays: rooms and planes are tested densely as well) or
    (B,P,3) per-pixel origins (shadow rays: only the culled pairs); d: (B,P,3).
    """
    B, P = d.shape[:2]
    best = torch.full((B * P,), torch.tensor(float("inf")).view(torch.int32).item() << _IDX_BITS | 0xFFFF,
                      dtype=torch.int64, device=d.device)
    d_cf = d.reshape(-1, 3).t().contiguous()  # (3, B*P): component-first for contiguous gathers
    o_cf = o.reshape(-1, 3).t().contiguous()
    if o.shape[1] == 1:
        best = _dense(best, o_cf, d_cf, parts)
    ptype = parts["ptype"][pairs[:, 0], pairs[:, 2]]
    for kind, fn in HIT_FUNCS.items():
        sel = pairs[ptype == kind]
        if sel.numel() == 0:
            continue
        b, m = sel[:, 0], sel[:, 2]
        Q, S = sel.shape[0], pix.shape[1]
        flat = (b[:, None] * P + pix.index_select(0, sel[:, 1])).reshape(-1)  # (Q*S,)
        Rt = parts["rot"][b, m].permute(2, 1, 0)[..., None]  # (3 local, 3 world, Q, 1)
        c = parts["center"][b, m].t()[..., None]  # (3,Q,1)
        org = o_cf.index_select(1, b)[..., None] if o.shape[1] == 1 else o_cf.index_select(1, flat).view(3, Q, S)
        dw = d_cf.index_select(1, flat).view(3, Q, S)
        rel = org - c
        o_l = Rt[:, 0] * rel[0] + Rt[:, 1] * rel[1] + Rt[:, 2] * rel[2]
        d_l = Rt[:, 0] * dw[0] + Rt[:, 1] * dw[1] + Rt[:, 2] * dw[2]
        key = _key(fn(o_l, d_l, parts["params"][b, m].t()[..., None]), m[:, None])
        best.scatter_reduce_(0, flat, key.reshape(-1), reduce="amin")
    t = (best >> _IDX_BITS).to(torch.int32).view(torch.float32).view(B, P)
    idx = (best & 0xFFFF).view(B, P)
    idx = torch.where(torch.isfinite(t), idx, torch.full_like(idx, -1))
    return t, idx

"""Scene description (numpy, CPU) and packing of several scenes into padded torch tables.

A scene is a flat list of *parts* (one primitive each). Parts of one object share an instance
id; every part has its own part index, which the occlusion labels use (see ``labels.py``).
World frame: z up, floor / ground at z = 0. Camera poses are camera-to-world 4x4 float64 in
the optical convention (x right, y down, z forward).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

# primitive types
BOX, SPHERE, CYLINDER, TORUS, ROOM, PLANE = range(6)
# texture types
FLAT, CHECKER, STRIPES, NOISE, WOOD, MARBLE, PHOTO = range(7)
TEXTURE_NAMES = ("flat", "checker", "stripes", "noise", "wood", "marble", "photo")

# Split seed ranges (half-open). The test split also uses held-out photo textures.
SPLITS = {
    "train": (0, 1_000_000),
    "val": (1_000_000, 1_001_000),
    "test": (2_000_000, 2_001_000),
}

PART_FIELDS = {  # name: (trailing shape, dtype)
    "ptype": ((), np.int64), "center": ((3,), np.float32), "rot": ((3, 3), np.float32),
    "params": ((3,), np.float32), "inst": ((), np.int64), "convex": ((), bool),
    "tex": ((), np.int64), "c1": ((3,), np.float32), "c2": ((3,), np.float32),
    "tex_scale": ((), np.float32), "tex_off": ((3,), np.float32), "photo": ((), np.int64),
    "spec": ((), np.float32),
}


def split_of_seed(seed: int) -> str:
    """Name of the split whose seed range holds ``seed`` (ValueError if none)."""
    for name, (lo, hi) in SPLITS.items():
        if lo <= seed < hi:
            return name
    raise ValueError(f"seed {seed} lies in no split range {SPLITS}; pick a seed inside one")


@dataclass
class Scene:
    """Everything needed to render one scene from any camera pose."""

    parts: dict = field(default_factory=lambda: {k: [] for k in PART_FIELDS})
    outdoor: bool = False
    light_pos: np.ndarray = field(default_factory=lambda: np.zeros(3))
    light_is_point: bool = True
    light_power: float = 1.0
    light_color: np.ndarray = field(default_factory=lambda: np.ones(3))
    ambient: float = 0.3
    sky_zenith: np.ndarray = field(default_factory=lambda: np.array([0.3, 0.5, 0.9]))
    sky_horizon: np.ndarray = field(default_factory=lambda: np.array([0.8, 0.85, 0.9]))
    clouds: float = 0.0
    # intrinsics relative to the image: fx/W, fy/fx, cx/W, cy/H (see ``intrinsics``)
    k_rel: np.ndarray = field(default_factory=lambda: np.array([0.6, 1.0, 0.5, 0.5]))
    camera: dict = field(default_factory=dict)  # exposure, gamma, noise, blur, vignette, wb
    trajectory: object = None  # trajectory.Trajectory
    profile: str = ""  # camera deployment profile the scene was drawn with (profiles.py)

    def add(self, ptype: int, center, rot, params, inst: int, material: dict) -> None:
        """Append one primitive; ``material`` supplies the texture fields."""
        p = self.parts
        p["ptype"].append(ptype)
        p["center"].append(np.asarray(center, np.float32))
        p["rot"].append(np.asarray(rot, np.float32))
        prm = np.zeros(3, np.float32)
        prm[: len(params)] = params
        p["params"].append(prm)
        p["inst"].append(inst)
        p["convex"].append(ptype != TORUS)
        for k in ("tex", "c1", "c2", "tex_scale", "tex_off", "photo", "spec"):
            p[k].append(material[k])

    def intrinsics(self, height: int, width: int) -> np.ndarray:
        """3x3 float64 K for an image of the given size."""
        fxr, aspect, cxr, cyr = self.k_rel  # fx / W, fy / fx (pixel aspect), cx / W, cy / H
        fx = fxr * width
        return np.array([[fx, 0, cxr * width - 0.5], [0, fx * aspect, cyr * height - 0.5],
                         [0, 0, 1]], dtype=np.float64)

    def num_parts(self) -> int:
        return len(self.parts["ptype"])


def pack_scenes(scenes: list[Scene], device: torch.device | str) -> dict:
    """Padded per-batch part tables (B,M,...) plus ``by_type`` index tensors (B,N) (-1 = none)."""
    B = len(scenes)
    M = max(s.num_parts() for s in scenes)
    out = {}
    for name, (shape, dtype) in PART_FIELDS.items():
        fill = -1 if name == "ptype" else 0
        arr = np.full((B, M) + shape, fill, dtype=dtype)
        if name == "rot":
            arr[:] = np.eye(3, dtype=np.float32)
        for b, s in enumerate(scenes):
            vals = s.parts[name]
            if vals:
                arr[b, : len(vals)] = np.stack(vals) if shape else np.asarray(vals, dtype)
        out[name] = torch.from_numpy(arr).to(device)
    ptype = out["ptype"].cpu().numpy()
    by_type = {}
    for t in range(6):
        counts = (ptype == t).sum(1)
        if counts.max() == 0:
            continue
        idx = np.full((B, counts.max()), -1, dtype=np.int64)
        for b in range(B):
            cols = np.nonzero(ptype[b] == t)[0]
            idx[b, : len(cols)] = cols
        by_type[t] = torch.from_numpy(idx).to(device)
    out["by_type"] = by_type
    return out


def pack_lights(scenes: list[Scene], device) -> dict:
    """Per-scene lighting, sky and camera-effect parameters as (B,...) float32 tensors."""
    def t(x):
        return torch.as_tensor(np.asarray(x, dtype=np.float32), device=device)
    cams = [s.camera for s in scenes]
    return {
        "light_pos": t([s.light_pos for s in scenes]),
        "light_is_point": t([float(s.light_is_point) for s in scenes]),
        "light_power": t([s.light_power for s in scenes]),
        "light_color": t([s.light_color for s in scenes]),
        "ambient": t([s.ambient for s in scenes]),
        "outdoor": t([float(s.outdoor) for s in scenes]),
        "sky_zenith": t([s.sky_zenith for s in scenes]),
        "sky_horizon": t([s.sky_horizon for s in scenes]),
        "clouds": t([s.clouds for s in scenes]),
        **{k: t([c[k] for c in cams]) for k in ("exposure", "gamma", "noise", "blur", "vignette", "wb")},
    }

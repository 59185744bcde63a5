"""Random scene sampling from a seed (numpy only, deterministic).

``sample_scene(seed, profiles)`` first draws a camera *deployment profile* (``profiles.py``: the
camera's height above the floor, its pitch and how often it is indoors), then an indoor room or
an outdoor scene with real-sized objects (``objects.py``), a camera trajectory, lights, materials
and camera effects. Rooms are 2.4-3.0 m high; textures have a fixed world scale per material kind.
The split (from the seed range) picks the photo textures: the test split only uses photos that
train/val never see.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from training.data.synth import objects
from training.data.synth.objects import Entry, Placer
from training.data.synth.profiles import DEFAULT_PROFILES, CameraProfile, resolve_profiles
from training.data.synth.scene import (CHECKER, FLAT, MARBLE, NOISE, PHOTO, PLANE, ROOM, STRIPES, WOOD,
                                       Scene, split_of_seed)
from training.data.synth.textures import photo_indices
from training.data.synth.trajectory import random_trajectory, trajectory_positions

CLEARANCE_M = 0.45  # no part's bounding sphere comes closer than this to the camera path
# Pattern frequency per metre of each texture kind (fixed world scale, +-15 %): floor tiles of
# 0.3 m, wood rings of ~8 cm, a photo tile per 1.25 m, ... (FLAT's low-frequency noise is fixed).
TEXTURE_SCALE = {FLAT: 1.0, CHECKER: 3.3, STRIPES: 8.0, NOISE: 4.0, WOOD: 6.0, MARBLE: 2.0,
                 PHOTO: 2.0}
KINDS = (FLAT, CHECKER, STRIPES, NOISE, WOOD, MARBLE, PHOTO)


def _color(rng, sat=(0.1, 0.8), val=(0.25, 0.95)) -> np.ndarray:
    h, s, v = rng.uniform(0, 1), rng.uniform(*sat), rng.uniform(*val)
    rgb = np.clip(np.abs((h * 6 + np.array([0, 4, 2])) % 6 - 3) - 1, 0, 1)
    return (v * (1 - s + s * rgb)).astype(np.float32)


def random_material(rng: np.random.Generator, split: str, weights=None) -> dict:
    """Texture type, colours, world scale, offset, photo id and specular strength."""
    w = np.array(weights or [1.5, 0.5, 0.6, 1.2, 1.2, 0.6, 2.0], np.float64)
    tex = int(rng.choice(KINDS, p=w / w.sum()))
    c1 = _color(rng)
    c2 = (c1 * rng.uniform(0.3, 0.8)).astype(np.float32) if rng.random() < 0.6 else _color(rng)
    photos = photo_indices(split)
    return {"tex": tex, "c1": c1, "c2": c2,
            "tex_scale": np.float32(TEXTURE_SCALE[tex] * rng.uniform(0.85, 1.15)),
            "tex_off": rng.uniform(-50, 50, 3).astype(np.float32),
            "photo": int(photos[rng.integers(len(photos))]),
            "spec": np.float32(rng.choice([0.0, rng.uniform(0.05, 0.5)]))}


def _part_radius(ptype: int, params: np.ndarray) -> float:
    return float(np.linalg.norm(params) if ptype != 3 else params[0] + params[1])


def _clear_of_path(scene: Scene, first_part: int, path: np.ndarray) -> bool:
    centers = np.stack(scene.parts["center"][first_part:])
    radii = np.array([_part_radius(t, p) for t, p in zip(scene.parts["ptype"][first_part:],
                                                         scene.parts["params"][first_part:])])
    gap = np.linalg.norm(centers[:, None] - path[None], axis=-1) - radii[:, None]
    return bool(gap.min() > CLEARANCE_M)


def _undo(scene: Scene, first_part: int) -> None:
    for v in scene.parts.values():
        del v[first_part:]


def _place_one(scene: Scene, rng, entry: Entry, xy, yaw: float, inst: int, path: np.ndarray,
               split: str, z0: float = 0.0) -> Placer | None:
    """Build one object; undo it and return None when it comes too close to the camera path."""
    n0 = scene.num_parts()
    mat = random_material(rng, split)
    same = rng.random() < 0.6  # compound objects: one material or one per part
    pl = Placer(scene, xy, yaw, inst, (lambda: mat) if same else (lambda: random_material(rng, split)), z0)
    entry.build(pl, rng)
    if scene.num_parts() == n0:
        return None
    if not _clear_of_path(scene, n0, path):
        _undo(scene, n0)
        return None
    return pl


def _draw(rng, catalog: list[Entry]) -> Entry:
    w = np.array([e.weight for e in catalog], np.float64)
    return catalog[rng.choice(len(catalog), p=w / w.sum())]


def _place_objects(scene: Scene, rng, catalog: list[Entry], count: int, region, path: np.ndarray,
                   split: str, inst: int) -> int:
    """Place ``count`` objects in ``region``, small items on their tops; returns the next inst id."""
    for _ in range(count):
        for _attempt in range(6):
            entry = _draw(rng, catalog)
            pl = _place_one(scene, rng, entry, rng.uniform(region[0], region[1]),
                            rng.uniform(0, 2 * np.pi), inst, path, split)
            if pl is not None:
                inst += 1
                inst = _place_on_tops(scene, rng, pl, path, split, inst)
                break
    return inst


def _place_on_tops(scene: Scene, rng, pl: Placer, path: np.ndarray, split: str, inst: int) -> int:
    for centre, half in pl.tops:
        for _ in range(int(rng.integers(0, 4))):
            local = rng.uniform(-1, 1, 2) * half
            xy = centre[:2] + pl.R[:2, :2] @ local
            if _place_one(scene, rng, _draw(rng, objects.TABLETOP), xy, rng.uniform(0, 2 * np.pi),
                          inst, path, split, z0=float(centre[2])) is not None:
                inst += 1
    return inst


def _place_doors(scene: Scene, rng, L: np.ndarray, path: np.ndarray, split: str, inst: int) -> int:
    """0-2 doors set into the room's walls (the door's local +x points into the room)."""
    walls = [((-L[0] / 2, None), 0.0), ((L[0] / 2, None), np.pi),
             ((None, -L[1] / 2), np.pi / 2), ((None, L[1] / 2), -np.pi / 2)]
    for k in rng.choice(4, size=int(rng.integers(0, 3)), replace=False):
        (x, y), yaw = walls[k]
        along = rng.uniform(-1, 1) * ((L[1] if x is not None else L[0]) / 2 - 0.8)
        xy = (x, along) if x is not None else (along, y)
        if _place_one(scene, rng, Entry(objects.door, 1.0, 0.5), xy, yaw, inst, path, split):
            inst += 1
    return inst


def _forward(yaw: float, pitch_deg: float) -> np.ndarray:
    p = np.deg2rad(pitch_deg)
    return np.array([np.cos(yaw) * np.cos(p), np.sin(yaw) * np.cos(p), np.sin(p)])


def _aim_at_object(scene: Scene, rng, prob: float, profile: CameraProfile) -> None:
    """Often look at an object (within the profile's pitch range) so frames are not empty walls."""
    centers = [c for c, i in zip(scene.parts["center"], scene.parts["inst"]) if i >= 2]
    if not centers or rng.random() >= prob:
        return
    target = np.array(centers[rng.integers(len(centers))], np.float64)
    offset = target - scene.trajectory.p0
    dist = np.linalg.norm(offset)
    pitch = np.rad2deg(np.arcsin(offset[2] / max(dist, 1e-6)))
    if dist > 0.8 and profile.pitch_deg[0] <= pitch <= profile.pitch_deg[1]:
        scene.trajectory = replace(scene.trajectory, target0=target)


def _camera_effects(rng) -> dict:
    return {"exposure": rng.uniform(0.7, 1.4), "gamma": rng.uniform(1.8, 2.4),
            "noise": rng.uniform(0.0, 0.03), "blur": rng.choice([0.0, rng.uniform(0.3, 1.0)]),
            "vignette": rng.uniform(0.0, 0.35), "wb": rng.uniform(0.9, 1.1, 3)}


def _intrinsics(rng) -> np.ndarray:
    hfov = np.deg2rad(rng.uniform(50, 95))
    fxr = 0.5 / np.tan(hfov / 2)
    aspect = rng.uniform(0.97, 1.03)  # fy / fx: square pixels up to +-3 %
    return np.array([fxr, aspect, 0.5 + rng.uniform(-0.04, 0.04), 0.5 + rng.uniform(-0.04, 0.04)])


def _camera_start(rng, profile: CameraProfile, xy, ceiling: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Key-frame position and look-at target from the profile's height and pitch."""
    height = rng.uniform(*profile.height_m)
    if ceiling is not None:
        height = min(height, ceiling - 0.3)
    p0 = np.array([xy[0], xy[1], height])
    yaw = rng.uniform(0, 2 * np.pi)
    return p0, p0 + 4.0 * _forward(yaw, rng.uniform(*profile.pitch_deg))


def _indoor(scene: Scene, rng, split: str, profile: CameraProfile) -> None:
    L = np.array([rng.uniform(3.5, 8.0), rng.uniform(3.0, 7.0), rng.uniform(2.4, 3.0)])
    wall_mat = random_material(rng, split, [3.0, 0.2, 0.6, 1.5, 0.2, 0.4, 1.0])
    wall_mat["c1"] = np.clip(wall_mat["c1"] * 0.5 + 0.45, 0, 1).astype(np.float32)
    scene.add(ROOM, [0, 0, L[2] / 2 - 0.005], np.eye(3), L / 2, 1, wall_mat)
    scene.add(PLANE, [0, 0, 0], np.eye(3), [], 1, random_material(rng, split, [0.5, 1.5, 0.3, 0.8, 2.5, 1, 1.5]))
    xy = rng.uniform(-L[:2] / 2 + 0.8, L[:2] / 2 - 0.8)
    p0, target = _camera_start(rng, profile, xy, L[2])
    scene.trajectory = random_trajectory(rng, p0, target, rng.uniform(0.2, 1.0))
    path = trajectory_positions(scene.trajectory)
    region = (-L[:2] / 2 + 0.3, L[:2] / 2 - 0.3)
    inst = _place_doors(scene, rng, L, path, split, 2)
    _place_objects(scene, rng, objects.INDOOR, int(rng.integers(4, 14)), region, path, split, inst)
    _aim_at_object(scene, rng, 0.7, profile)
    scene.light_pos = np.array([rng.uniform(-L[0], L[0]) / 3, rng.uniform(-L[1], L[1]) / 3, L[2] - 0.3])
    scene.light_is_point, scene.light_power = True, rng.uniform(4, 12)
    scene.ambient = rng.uniform(0.15, 0.4)


def _outdoor(scene: Scene, rng, split: str, profile: CameraProfile) -> None:
    scene.outdoor = True
    scene.add(PLANE, [0, 0, 0], np.eye(3), [], 1, random_material(rng, split, [0.5, 0.3, 0.3, 2, 0.2, 0.5, 2.5]))
    p0, target = _camera_start(rng, profile, (0.0, 0.0), None)
    scene.trajectory = random_trajectory(rng, p0, target, rng.uniform(0.5, 2.0))
    path = trajectory_positions(scene.trajectory)
    fwd = target - p0
    fwd = np.array([fwd[0], fwd[1], 0.0]) / (np.linalg.norm(fwd[:2]) + 1e-9)
    side = np.cross(fwd, [0, 0, 1])
    inst = 2
    for _ in range(int(rng.integers(5, 16))):  # place in the viewing wedge, 2-25 m ahead
        dist, lateral = rng.uniform(2, 25), rng.uniform(-0.9, 0.9)
        xy = (p0 + fwd * dist + side * lateral * dist)[:2]
        inst = _place_objects(scene, rng, objects.OUTDOOR, 1, (xy - 0.5, xy + 0.5), path, split, inst)
    _aim_at_object(scene, rng, 0.4, profile)
    sun_elev, sun_az = rng.uniform(0.25, 1.2), rng.uniform(0, 2 * np.pi)
    scene.light_pos = np.array([np.cos(sun_az) * np.cos(sun_elev), np.sin(sun_az) * np.cos(sun_elev), np.sin(sun_elev)])
    scene.light_is_point, scene.light_power = False, rng.uniform(0.8, 1.3)
    scene.ambient = rng.uniform(0.2, 0.45)
    scene.sky_zenith = np.array([rng.uniform(0.1, 0.4), rng.uniform(0.3, 0.55), rng.uniform(0.6, 0.95)])
    scene.sky_horizon = np.clip(scene.sky_zenith * 0.4 + rng.uniform(0.5, 0.65), 0, 1)
    scene.clouds = rng.uniform(0, 1)


def sample_scene(seed: int, profiles: tuple[str, ...] = DEFAULT_PROFILES) -> Scene:
    """The scene of ``seed`` (split from the seed range, see ``scene.SPLITS``).

    ``profiles``: camera deployment profiles (names or inline specs, ``profiles.py``) drawn with
    their weights; the same seed and profiles always give the same scene.
    """
    split = split_of_seed(int(seed))
    rng = np.random.default_rng([int(seed), 0x5EED])
    choices = resolve_profiles(profiles)
    weights = np.array([p.weight for p in choices], np.float64)
    profile = choices[int(rng.choice(len(choices), p=weights / weights.sum()))]
    scene = Scene()
    scene.k_rel = _intrinsics(rng)
    scene.camera = _camera_effects(rng)
    scene.light_color = np.clip(rng.normal(1.0, 0.06, 3), 0.8, 1.2)
    scene.profile = profile.name
    (_indoor if rng.random() < profile.indoor_share else _outdoor)(scene, rng, split, profile)
    return scene

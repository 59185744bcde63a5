"""Random scene sampling from a seed (numpy only, deterministic).

``sample_scene(seed)`` draws an indoor room (60 %) or an outdoor scene with ground and sky,
a camera trajectory, lights, materials and camera effects. The split (from the seed range) picks
the photo textures: the test split only uses photos that train/val never see.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from training.synth import objects
from training.synth.objects import Placer
from training.synth.scene import (CHECKER, FLAT, MARBLE, NOISE, PHOTO, PLANE, ROOM, STRIPES, WOOD,
                                  Scene, split_of_seed)
from training.synth.textures import photo_indices
from training.synth.trajectory import random_trajectory, trajectory_positions

CLEARANCE_M = 0.45  # no part's bounding sphere comes closer than this to the camera path


def _color(rng, sat=(0.1, 0.8), val=(0.25, 0.95)) -> np.ndarray:
    h, s, v = rng.uniform(0, 1), rng.uniform(*sat), rng.uniform(*val)
    rgb = np.clip(np.abs((h * 6 + np.array([0, 4, 2])) % 6 - 3) - 1, 0, 1)
    return (v * (1 - s + s * rgb)).astype(np.float32)


def random_material(rng: np.random.Generator, split: str, weights=None) -> dict:
    """Texture type, colours, scale, offset, photo id and specular strength."""
    kinds = [FLAT, CHECKER, STRIPES, NOISE, WOOD, MARBLE, PHOTO]
    w = np.array(weights or [1.2, 0.8, 1.0, 1.5, 1.0, 0.8, 2.0], np.float64)
    tex = int(rng.choice(kinds, p=w / w.sum()))
    c1 = _color(rng)
    c2 = (c1 * rng.uniform(0.3, 0.8)).astype(np.float32) if rng.random() < 0.6 else _color(rng)
    photos = photo_indices(split)
    return {"tex": tex, "c1": c1, "c2": c2, "tex_scale": np.float32(np.exp(rng.uniform(np.log(1.0), np.log(10.0)))),
            "tex_off": rng.uniform(-50, 50, 3).astype(np.float32),
            "photo": int(photos[rng.integers(len(photos))]),
            "spec": np.float32(rng.choice([0.0, rng.uniform(0.05, 0.5)]))}


def _part_radius(ptype: int, params: np.ndarray) -> float:
    return float(np.linalg.norm(params) if ptype != 3 else params[0] + params[1])


def _place_objects(scene: Scene, rng, catalog, count: int, region, path: np.ndarray, split: str,
                   first_inst: int = 2):
    weights = np.array([w for _, _, w in catalog], np.float64)
    for inst in range(first_inst, first_inst + count):
        for _attempt in range(6):
            builder, (lo, hi), _ = catalog[rng.choice(len(catalog), p=weights / weights.sum())]
            xy = rng.uniform(region[0], region[1])
            n0 = scene.num_parts()
            mat = random_material(rng, split)
            same = rng.random() < 0.6  # compound objects: one material or one per part
            builder(Placer(scene, xy, rng.uniform(0, 2 * np.pi), inst,
                           (lambda: mat) if same else (lambda: random_material(rng, split))), rng, rng.uniform(lo, hi))
            centers = np.stack(scene.parts["center"][n0:])
            radii = np.array([_part_radius(t, p)
                              for t, p in zip(scene.parts["ptype"][n0:], scene.parts["params"][n0:])])
            gap = np.linalg.norm(centers[:, None] - path[None], axis=-1) - radii[:, None]
            if gap.min() > CLEARANCE_M:
                break
            for v in scene.parts.values():  # too close to the camera path: undo and retry
                del v[n0:]


def _aim_at_object(scene: Scene, rng, prob: float) -> None:
    """Often look at one of the objects so that frames are not mostly empty walls."""
    centers = [c for c, i in zip(scene.parts["center"], scene.parts["inst"]) if i >= 2]
    if centers and rng.random() < prob:
        target = np.array(centers[rng.integers(len(centers))], np.float64)
        if np.linalg.norm(target - scene.trajectory.p0) > 0.8:
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


def _indoor(scene: Scene, rng, split: str) -> None:
    L = np.array([rng.uniform(3.5, 9), rng.uniform(3.5, 9), rng.uniform(2.4, 3.4)])
    wall_mat = random_material(rng, split, [2.5, 0.3, 0.8, 1.2, 0.3, 0.8, 1.2])
    wall_mat["c1"] = np.clip(wall_mat["c1"] * 0.5 + 0.45, 0, 1).astype(np.float32)
    scene.add(ROOM, [0, 0, L[2] / 2 - 0.005], np.eye(3), L / 2, 1, wall_mat)
    scene.add(PLANE, [0, 0, 0], np.eye(3), [], 1, random_material(rng, split, [0.5, 1.2, 0.5, 1, 2, 1, 2]))
    p0 = np.array([rng.uniform(-L[0] / 2 + 0.8, L[0] / 2 - 0.8), rng.uniform(-L[1] / 2 + 0.8, L[1] / 2 - 0.8),
                   rng.uniform(0.4, min(2.0, L[2] - 0.5))])
    target = np.array([rng.uniform(-L[0], L[0]) / 2, rng.uniform(-L[1], L[1]) / 2, rng.uniform(0, 1.5)])
    if np.linalg.norm(target[:2] - p0[:2]) < 1.0:
        target[:2] = -p0[:2]
    scene.trajectory = random_trajectory(rng, p0, target, rng.uniform(0.2, 1.0))
    path = trajectory_positions(scene.trajectory)
    region = (-L[:2] / 2 + 0.3, L[:2] / 2 - 0.3)
    _place_objects(scene, rng, objects.INDOOR, int(rng.integers(3, 13)), region, path, split)
    _aim_at_object(scene, rng, 0.8)
    scene.light_pos = np.array([rng.uniform(-L[0], L[0]) / 3, rng.uniform(-L[1], L[1]) / 3, L[2] - 0.3])
    scene.light_is_point, scene.light_power = True, rng.uniform(4, 12)
    scene.ambient = rng.uniform(0.15, 0.4)


def _outdoor(scene: Scene, rng, split: str) -> None:
    scene.outdoor = True
    scene.add(PLANE, [0, 0, 0], np.eye(3), [], 1, random_material(rng, split, [0.5, 0.3, 0.3, 2, 0.2, 0.5, 2.5]))
    p0 = np.array([0.0, 0.0, rng.uniform(0.5, 2.5)])
    yaw = rng.uniform(0, 2 * np.pi)
    fwd = np.array([np.cos(yaw), np.sin(yaw), 0.0])
    target = p0 + fwd * 10 + np.array([0, 0, rng.uniform(-2.5, 0.5)])
    scene.trajectory = random_trajectory(rng, p0, target, rng.uniform(0.5, 2.0))
    path = trajectory_positions(scene.trajectory)
    n = int(rng.integers(4, 14))
    side = np.cross(fwd, [0, 0, 1])
    for k in range(n):  # place in the viewing wedge, 2-25 m ahead
        dist, lateral = rng.uniform(2, 25), rng.uniform(-0.9, 0.9)
        xy = (p0 + fwd * dist + side * lateral * dist)[:2]
        _place_objects(scene, rng, objects.OUTDOOR, 1, (xy - 0.5, xy + 0.5), path, split, 2 + k)
    _aim_at_object(scene, rng, 0.4)
    sun_elev, sun_az = rng.uniform(0.25, 1.2), rng.uniform(0, 2 * np.pi)
    scene.light_pos = np.array([np.cos(sun_az) * np.cos(sun_elev), np.sin(sun_az) * np.cos(sun_elev), np.sin(sun_elev)])
    scene.light_is_point, scene.light_power = False, rng.uniform(0.8, 1.3)
    scene.ambient = rng.uniform(0.2, 0.45)
    scene.sky_zenith = np.array([rng.uniform(0.1, 0.4), rng.uniform(0.3, 0.55), rng.uniform(0.6, 0.95)])
    scene.sky_horizon = np.clip(scene.sky_zenith * 0.4 + rng.uniform(0.5, 0.65), 0, 1)
    scene.clouds = rng.uniform(0, 1)


def sample_scene(seed: int) -> Scene:
    """The scene of ``seed`` (its split follows from the seed range, see ``scene.SPLITS``)."""
    split = split_of_seed(int(seed))
    rng = np.random.default_rng([int(seed), 0x5EED])
    scene = Scene()
    scene.k_rel = _intrinsics(rng)
    scene.camera = _camera_effects(rng)
    scene.light_color = np.clip(rng.normal(1.0, 0.06, 3), 0.8, 1.2)
    (_outdoor if rng.random() < 0.4 else _indoor)(scene, rng, split)
    return scene

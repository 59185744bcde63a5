"""Random scene sampling from a seed (numpy only, deterministic).

``sample_scene(seed, profiles, rooms)`` first draws a camera *deployment profile* (``profiles.py``:
the camera's height above the floor, its pitch and how often it is indoors), then an indoor room or
an outdoor scene with real-sized objects (``objects.py``), a camera trajectory, lights, materials
and camera effects. Rooms are 2.4-3.0 m high; textures have a fixed world scale per material kind.
The split (from the seed range) picks the photo textures: the test split only uses photos that
train/val never see.

Room styles (``ROOM_STYLES``): ``classic`` (every shipped leg was trained in it; the val and
test splits are scored in it) scatters furniture anywhere on a textured floor between textured
walls. ``furnished`` is the realism the real dev frames asked for (experiment log 14): a third of
the rooms are corridors, most walls are large plain painted surfaces, and shelves, cabinets,
sofas and desks stand with their backs to the walls. The same seed draws the same scene within a
style; the styles differ from the first room draw on.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from training.data.synth import objects
from training.data.synth.objects import Entry, Placer
from training.data.synth.profiles import DEFAULT_PROFILES, PROFILES, CameraProfile, resolve_profiles
from training.data.synth.scene import (BOX, CHECKER, CYLINDER, FLAT, MARBLE, NOISE, PHOTO, PLANE, ROOM,
                                       SPHERE, STRIPES, WOOD, Scene, split_of_seed)
from training.data.synth.textures import photo_indices
from training.data.synth.trajectory import patrol_positions, random_patrol, random_trajectory, trajectory_positions

CLEARANCE_M = 0.45  # no part's bounding sphere comes closer than this to the camera path
# Pattern frequency per metre of each texture kind (fixed world scale, +-15 %): floor tiles of
# 0.3 m, wood rings of ~8 cm, a photo tile per 1.25 m, ... (FLAT's low-frequency noise is fixed).
TEXTURE_SCALE = {FLAT: 1.0, CHECKER: 3.3, STRIPES: 8.0, NOISE: 4.0, WOOD: 6.0, MARBLE: 2.0,
                 PHOTO: 2.0}
KINDS = (FLAT, CHECKER, STRIPES, NOISE, WOOD, MARBLE, PHOTO)
ROOM_STYLES = ("classic", "furnished")
CORRIDOR_SHARE = 0.3    # furnished: rooms that are corridors, 1.3-2.2 m wide and 4.5-12 m long
PLAIN_WALL_SHARE = 0.7  # furnished: rooms whose walls are plain paint (real rooms mostly are)
WALL_GAP_M = 0.01       # furnished: gap between a wall and the back of the furniture against it


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


def _build_one(scene: Scene, rng, entry: Entry, xy, yaw: float, inst: int, split: str,
               z0: float = 0.0) -> Placer | None:
    """Build one object with its materials; None when the builder added no part."""
    n0 = scene.num_parts()
    mat = random_material(rng, split)
    same = rng.random() < 0.6  # compound objects: one material or one per part
    pl = Placer(scene, xy, yaw, inst, (lambda: mat) if same else (lambda: random_material(rng, split)), z0)
    entry.build(pl, rng)
    return pl if scene.num_parts() > n0 else None


def _place_one(scene: Scene, rng, entry: Entry, xy, yaw: float, inst: int, path: np.ndarray,
               split: str, z0: float = 0.0) -> Placer | None:
    """Build one object; undo it and return None when it comes too close to the camera path."""
    n0 = scene.num_parts()
    pl = _build_one(scene, rng, entry, xy, yaw, inst, split, z0)
    if pl is None:
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


def _place_doors(scene: Scene, rng, L: np.ndarray, path: np.ndarray, split: str, inst: int,
                 most: int = 2) -> int:
    """0 to ``most`` doors set into the room's walls (the door's local +x points into the room)."""
    walls = [((-L[0] / 2, None), 0.0), ((L[0] / 2, None), np.pi),
             ((None, -L[1] / 2), np.pi / 2), ((None, L[1] / 2), -np.pi / 2)]
    for k in rng.choice(4, size=int(rng.integers(0, most + 1)), replace=False):
        (x, y), yaw = walls[k]
        along = rng.uniform(-1, 1) * ((L[1] if x is not None else L[0]) / 2 - 0.8)
        xy = (x, along) if x is not None else (along, y)
        if _place_one(scene, rng, Entry(objects.door, 1.0, 0.5), xy, yaw, inst, path, split):
            inst += 1
    return inst


def _reach(scene: Scene, part: int, direction: np.ndarray) -> float:
    """How far part ``part`` reaches along the unit world ``direction`` (max of p . direction)."""
    p = scene.parts
    ptype, params = p["ptype"][part], p["params"][part].astype(np.float64)
    local = p["rot"][part].T.astype(np.float64) @ direction
    if ptype == BOX:
        reach = np.abs(local) @ params
    elif ptype == CYLINDER:  # axis local z: radius across it, half height along it
        axial = abs(local[2])
        reach = params[0] * np.sqrt(max(0.0, 1.0 - axial**2)) + params[1] * axial
    elif ptype == SPHERE:
        reach = params[0]
    else:  # torus (bound): major + tube radius
        reach = params[0] + params[1]
    return float(p["center"][part] @ direction + reach)


def _place_against_walls(scene: Scene, rng, L: np.ndarray, path: np.ndarray, split: str, inst: int,
                         count: int) -> int:
    """``count`` pieces of furniture with their backs to the walls; returns the next inst id.

    Each is built facing into the room, then slid along the wall's normal until its back is
    ``WALL_GAP_M`` from the wall; pieces do not overlap along one wall and keep clear of the path.
    """
    weights = np.array([entry.weight for entry, _ in objects.AGAINST_WALL], np.float64)
    taken: list[tuple[int, float, float]] = []  # (wall, from, to) along the wall
    for _ in range(count):
        for _attempt in range(6):
            entry, back = objects.AGAINST_WALL[rng.choice(len(weights), p=weights / weights.sum())]
            wall = int(rng.integers(4))
            axis, outward, tangent = wall // 2, np.zeros(3), np.zeros(3)
            outward[axis], tangent[1 - axis] = (-1.0, 1.0)[wall % 2], 1.0
            along = rng.uniform(-1, 1) * max(L[1 - axis] / 2 - entry.footprint, 0.0)
            yaw = np.arctan2(outward[1], outward[0]) - np.arctan2(back[1], back[0])
            n0 = scene.num_parts()
            pl = _build_one(scene, rng, entry, (outward * L[axis] / 2 + tangent * along)[:2], yaw,
                            inst, split)
            if pl is None:
                continue
            parts = range(n0, scene.num_parts())
            shift = (L[axis] / 2 - WALL_GAP_M - max(_reach(scene, i, outward) for i in parts)) * outward
            for i in parts:
                scene.parts["center"][i] = (scene.parts["center"][i] + shift).astype(np.float32)
            pl.tops = [(centre + shift, half) for centre, half in pl.tops]
            lo = -max(_reach(scene, i, -tangent) for i in parts)
            hi = max(_reach(scene, i, tangent) for i in parts)
            fits = -L[1 - axis] / 2 <= lo and hi <= L[1 - axis] / 2  # a sofa is wider than a corridor's end
            if not fits or any(w == wall and lo < b and a < hi for w, a, b in taken) \
                    or not _clear_of_path(scene, n0, path):
                _undo(scene, n0)
                continue
            taken.append((wall, lo, hi))
            inst = _place_on_tops(scene, rng, pl, path, split, inst + 1)
            break
    return inst


def _plain_paint(rng, split: str) -> dict:
    """Painted plaster: white or a pale tint, only FLAT's slight low-frequency shading."""
    mat = random_material(rng, split, [1, 0, 0, 0, 0, 0, 0])
    mat["c1"] = _color(rng, sat=(0.0, 0.2), val=(0.65, 0.95))
    mat["spec"] = np.float32(rng.uniform(0.0, 0.1))
    return mat


def _along_corridor(rng, p0: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The look-at target turned to look down the corridor (its long axis is x), pitch kept."""
    offset = target - p0
    yaw = rng.choice([0.0, np.pi]) + rng.normal(0.0, 0.25)
    horizontal = np.hypot(offset[0], offset[1])
    return p0 + np.array([horizontal * np.cos(yaw), horizontal * np.sin(yaw), offset[2]])


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


def _room_shell(scene: Scene, rng, split: str, L: np.ndarray, furnished: bool) -> None:
    """Walls, ceiling and floor of a room of size ``L`` centred on the origin."""
    if furnished and rng.random() < PLAIN_WALL_SHARE:
        wall_mat = _plain_paint(rng, split)
    else:
        wall_mat = random_material(rng, split, [3.0, 0.2, 0.6, 1.5, 0.2, 0.4, 1.0])
        wall_mat["c1"] = np.clip(wall_mat["c1"] * 0.5 + 0.45, 0, 1).astype(np.float32)
    scene.add(ROOM, [0, 0, L[2] / 2 - 0.005], np.eye(3), L / 2, 1, wall_mat)
    scene.add(PLANE, [0, 0, 0], np.eye(3), [], 1, random_material(rng, split, [0.5, 1.5, 0.3, 0.8, 2.5, 1, 1.5]))


def _light_room(scene: Scene, rng, L: np.ndarray) -> None:
    scene.light_pos = np.array([rng.uniform(-L[0], L[0]) / 3, rng.uniform(-L[1], L[1]) / 3, L[2] - 0.3])
    scene.light_is_point, scene.light_power = True, rng.uniform(4, 12)
    scene.ambient = rng.uniform(0.15, 0.4)


def _indoor(scene: Scene, rng, split: str, profile: CameraProfile, rooms: str) -> None:
    furnished = rooms == "furnished"
    corridor = furnished and rng.random() < CORRIDOR_SHARE
    if corridor:
        L = np.array([rng.uniform(4.5, 12.0), rng.uniform(1.3, 2.2), rng.uniform(2.4, 2.8)])
    else:
        L = np.array([rng.uniform(3.5, 8.0), rng.uniform(3.0, 7.0), rng.uniform(2.4, 3.0)])
    _room_shell(scene, rng, split, L, furnished)
    margin = np.minimum(0.8, 0.3 * L[:2])  # 0.8 m from the walls; less in a corridor
    xy = rng.uniform(-L[:2] / 2 + margin, L[:2] / 2 - margin)
    p0, target = _camera_start(rng, profile, xy, L[2])
    if corridor and rng.random() < 0.7:
        target = _along_corridor(rng, p0, target)
    scene.trajectory = random_trajectory(rng, p0, target, rng.uniform(0.2, 1.0))
    path = trajectory_positions(scene.trajectory)
    region = (-L[:2] / 2 + 0.3, L[:2] / 2 - 0.3)
    inst = _place_doors(scene, rng, L, path, split, 2, most=3 if furnished else 2)
    if furnished:
        inst = _place_against_walls(scene, rng, L, path, split, inst, int(rng.integers(2, 7)))
    _place_objects(scene, rng, objects.INDOOR, int(rng.integers(2, 9) if furnished else rng.integers(4, 14)),
                   region, path, split, inst)
    _aim_at_object(scene, rng, 0.7, profile)
    _light_room(scene, rng, L)


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


def sample_scene(seed: int, profiles: tuple[str, ...] = DEFAULT_PROFILES, rooms: str = "classic") -> Scene:
    """The scene of ``seed`` (split from the seed range, see ``scene.SPLITS``).

    ``profiles``: camera deployment profiles (names or inline specs, ``profiles.py``) drawn with
    their weights; ``rooms``: a room style of ``ROOM_STYLES``. The same seed, profiles and style
    always give the same scene.
    """
    if rooms not in ROOM_STYLES:
        raise ValueError(f"unknown room style {rooms!r}; use one of {', '.join(ROOM_STYLES)}")
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
    if rng.random() < profile.indoor_share:
        _indoor(scene, rng, split, profile, rooms)
    else:
        _outdoor(scene, rng, split, profile)
    return scene


def sample_patrol_scene(seed: int, rooms: str = "furnished") -> Scene:
    """A room a robot patrols for minutes (``trajectory.Patrol``): a long synthetic recording of one room.

    Scene ``seed``'s split decides its materials, as for ``sample_scene``; the camera is the
    ``indoor_robot`` profile's (0.2-1.5 m up, looking level to slightly down), and every object
    stays clear of the whole loop.
    """
    if rooms not in ROOM_STYLES:
        raise ValueError(f"unknown room style {rooms!r}; use one of {', '.join(ROOM_STYLES)}")
    split = split_of_seed(int(seed))
    rng = np.random.default_rng([int(seed), 0xBA7201])
    scene = Scene()
    scene.k_rel = _intrinsics(rng)
    scene.camera = _camera_effects(rng)
    scene.light_color = np.clip(rng.normal(1.0, 0.06, 3), 0.8, 1.2)
    scene.profile = "indoor_robot"
    furnished = rooms == "furnished"
    L = np.array([rng.uniform(5.0, 8.0), rng.uniform(4.5, 7.0), rng.uniform(2.4, 3.0)])
    _room_shell(scene, rng, split, L, furnished)
    low, high = PROFILES["indoor_robot"].height_m
    scene.trajectory = random_patrol(rng, L, float(rng.uniform(low, min(high, 1.0))),
                                     float(np.deg2rad(rng.uniform(-15.0, 0.0))))
    path = patrol_positions(scene.trajectory)
    inst = _place_doors(scene, rng, L, path, split, 2, most=3 if furnished else 2)
    if furnished:
        inst = _place_against_walls(scene, rng, L, path, split, inst, int(rng.integers(4, 9)))
    _place_objects(scene, rng, objects.INDOOR, int(rng.integers(6, 14)), (-L[:2] / 2 + 0.3, L[:2] / 2 - 0.3),
                   path, split, inst)
    _light_room(scene, rng, L)
    return scene

"""Object catalog: single primitives and compound objects that self-occlude.

Each builder adds parts to a scene standing on the floor (z = 0) at (x, y) with yaw ``yaw`` and
returns nothing; ``size`` is a rough overall extent in metres. Parts of one object share ``inst``.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from training.synth.scene import BOX, CYLINDER, SPHERE, TORUS, Scene


def rot_euler(rx: float, ry: float, rz: float) -> np.ndarray:
    """World-from-local rotation Rz @ Ry @ Rx."""
    cx, sx, cy, sy, cz, sz = np.cos(rx), np.sin(rx), np.cos(ry), np.sin(ry), np.cos(rz), np.sin(rz)
    Rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    Ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    Rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return Rz @ Ry @ Rx


class Placer:
    """Adds parts in an object frame (origin on the floor at ``xy``, rotated by ``yaw``)."""

    def __init__(self, scene: Scene, xy, yaw: float, inst: int, material: Callable[[], dict], z0=0.0):
        self.scene, self.inst, self.material = scene, inst, material
        self.R = rot_euler(0, 0, yaw)
        self.origin = np.array([xy[0], xy[1], z0])

    def add(self, ptype: int, local_center, params, local_rot=None, material: dict | None = None):
        rot = self.R if local_rot is None else self.R @ local_rot
        center = self.origin + self.R @ np.asarray(local_center, np.float64)
        self.scene.add(ptype, center, rot, params, self.inst, material or self.material())


def box(pl: Placer, rng, size: float):
    h = rng.uniform(0.3, 1.0, 3) * size / 2
    pl.add(BOX, [0, 0, h[2]], h)


def sphere(pl: Placer, rng, size: float):
    r = size / 2 * rng.uniform(0.4, 1.0)
    lift = rng.choice([0.0, rng.uniform(0, 1.2)])  # resting or floating
    pl.add(SPHERE, [0, 0, r + lift], [r])


def cylinder(pl: Placer, rng, size: float):
    r, h = size / 2 * rng.uniform(0.2, 0.6), size / 2 * rng.uniform(0.3, 1.0)
    if rng.random() < 0.3:  # lying on its side
        pl.add(CYLINDER, [0, 0, r], [r, h], rot_euler(np.pi / 2, 0, 0))
    else:
        pl.add(CYLINDER, [0, 0, h], [r, h])


def torus(pl: Placer, rng, size: float):
    R = size / 2 * rng.uniform(0.5, 0.8)
    r = R * rng.uniform(0.15, 0.45)
    tilt = rng.choice([np.pi / 2, rng.uniform(0, np.pi / 2)])  # often standing: seen edge-on
    rot = rot_euler(tilt, 0, 0)
    lift = (R + r) * abs(np.sin(tilt)) + r * abs(np.cos(tilt))
    pl.add(TORUS, [0, 0, lift + rng.choice([0.0, 0.3])], [R, r], rot)


def mug(pl: Placer, rng, size: float):
    r, h = size * 0.3, size * 0.4
    pl.add(CYLINDER, [0, 0, h], [r, h])
    hr = h * 0.55
    # handle: torus in the x-z plane, half buried in the body -> self-occlusion from most views
    pl.add(TORUS, [r, 0, h], [hr, hr * 0.22], rot_euler(np.pi / 2, 0, 0))


def l_shape(pl: Placer, rng, size: float):
    t = size * rng.uniform(0.15, 0.3)
    a, b = size * rng.uniform(0.5, 1.0), size * rng.uniform(0.5, 1.0)
    pl.add(BOX, [0, 0, a / 2], [t / 2, t / 2, a / 2])
    pl.add(BOX, [b / 2, 0, t / 2], [b / 2, t / 2, t / 2])


def table(pl: Placer, rng, size: float):
    w, d, h = size * rng.uniform(0.6, 1.0), size * rng.uniform(0.4, 0.7), rng.uniform(0.45, 0.9)
    top_t, leg = rng.uniform(0.02, 0.06), rng.uniform(0.02, 0.05)
    pl.add(BOX, [0, 0, h - top_t / 2], [w / 2, d / 2, top_t / 2])
    legs_round = rng.random() < 0.5
    for sx in (-1, 1):
        for sy in (-1, 1):
            c = [sx * (w / 2 - 2 * leg), sy * (d / 2 - 2 * leg), (h - top_t) / 2]
            if legs_round:
                pl.add(CYLINDER, c, [leg, (h - top_t) / 2])
            else:
                pl.add(BOX, c, [leg, leg, (h - top_t) / 2])


def chair(pl: Placer, rng, size: float):
    s, h, leg = size * 0.45, rng.uniform(0.4, 0.5), 0.02
    pl.add(BOX, [0, 0, h], [s / 2, s / 2, 0.02])
    pl.add(BOX, [-s / 2 + 0.02, 0, h + 0.25], [0.02, s / 2, 0.25])
    for sx in (-1, 1):
        for sy in (-1, 1):
            pl.add(CYLINDER, [sx * (s / 2 - 0.03), sy * (s / 2 - 0.03), h / 2], [leg, h / 2])


def lamp(pl: Placer, rng, size: float):
    h = rng.uniform(0.8, 1.8)
    pl.add(CYLINDER, [0, 0, 0.015], [0.15, 0.015])
    pl.add(CYLINDER, [0, 0, h / 2], [rng.uniform(0.01, 0.025), h / 2])  # thin pole
    pl.add(SPHERE, [0, 0, h + 0.1], [rng.uniform(0.1, 0.2)])


def shelf(pl: Placer, rng, size: float):
    w, d, n = size * rng.uniform(0.6, 1.2), rng.uniform(0.25, 0.4), int(rng.integers(2, 5))
    gap = rng.uniform(0.3, 0.45)
    for i in range(n):
        pl.add(BOX, [0, 0, 0.1 + i * gap], [w / 2, d / 2, 0.015])  # slabs
    for sx in (-1, 1):
        pl.add(BOX, [sx * w / 2, 0, (0.1 + (n - 1) * gap) / 2 + 0.02], [0.015, d / 2, (0.1 + (n - 1) * gap) / 2 + 0.02])


def tree(pl: Placer, rng, size: float):
    h = size * rng.uniform(0.4, 0.7)
    pl.add(CYLINDER, [0, 0, h / 2], [size * 0.04, h / 2])
    for _ in range(int(rng.integers(1, 4))):
        r = size * rng.uniform(0.2, 0.35)
        pl.add(SPHERE, [rng.normal(0, r * 0.4), rng.normal(0, r * 0.4), h + rng.uniform(0, r)], [r])


def building(pl: Placer, rng, size: float):
    h = np.array([rng.uniform(2, 6), rng.uniform(2, 6), rng.uniform(3, 12)])
    pl.add(BOX, [0, 0, h[2]], h)


def street_pole(pl: Placer, rng, size: float):
    h = rng.uniform(3, 7)
    pl.add(CYLINDER, [0, 0, h / 2], [rng.uniform(0.04, 0.1), h / 2])
    pl.add(BOX, [0.4, 0, h], [0.45, 0.08, 0.06])


def car(pl: Placer, rng, size: float):
    L, W = rng.uniform(3.5, 4.8), rng.uniform(1.6, 1.9)
    pl.add(BOX, [0, 0, 0.7], [L / 2, W / 2, 0.35])
    pl.add(BOX, [-0.2, 0, 1.25], [L / 4, W / 2 - 0.1, 0.25])
    for sx in (-1, 1):
        for sy in (-1, 1):
            pl.add(CYLINDER, [sx * L / 3, sy * W / 2, 0.33], [0.33, 0.12], rot_euler(np.pi / 2, 0, 0))


def wall(pl: Placer, rng, size: float):
    L, h = rng.uniform(2, 8), rng.uniform(0.8, 3)
    pl.add(BOX, [0, 0, h / 2], [L / 2, rng.uniform(0.08, 0.3), h / 2])


# (builder, size range m, weight)
INDOOR = [(box, (0.2, 1.2), 3), (sphere, (0.15, 0.8), 2), (cylinder, (0.15, 0.9), 2),
          (torus, (0.3, 1.0), 1.5), (mug, (0.2, 0.6), 1.5), (l_shape, (0.4, 1.2), 1.5),
          (table, (0.8, 1.6), 1.5), (chair, (0.8, 1.1), 1), (lamp, (0.5, 1), 1), (shelf, (0.8, 1.6), 1)]
OUTDOOR = [(tree, (3, 8), 3), (building, (4, 10), 2), (street_pole, (1, 2), 2), (car, (4, 5), 2),
           (wall, (2, 6), 1.5), (box, (0.5, 2.5), 2), (sphere, (0.5, 2.5), 1), (torus, (1, 3), 1),
           (l_shape, (1, 3), 1)]

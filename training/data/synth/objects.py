"""Object catalog with real-world sizes, so that metric scale can be learned from one image.

Every builder adds the parts of one object standing at (x, y) on a support surface at height
``z0`` (floor or table top), rotated by ``yaw``. Sizes are those of the real object class and vary
by ``jitter`` (+-15 %), never by a free "size" draw: a mug is about 0.1 m tall and a door 2.0-2.1 m
wherever it appears, which is what lets a monocular network infer metric depth from context.
Parts of one object share ``inst``; compound objects self-occlude (chairs, tables, shelves).
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from training.data.synth.scene import BOX, CYLINDER, SPHERE, TORUS, Scene

SIZE_JITTER = 0.15  # relative spread of a real object class's dimensions


def rot_euler(rx: float, ry: float, rz: float) -> np.ndarray:
    """World-from-local rotation Rz @ Ry @ Rx."""
    cx, sx, cy, sy, cz, sz = np.cos(rx), np.sin(rx), np.cos(ry), np.sin(ry), np.cos(rz), np.sin(rz)
    Rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    Ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    Rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return Rz @ Ry @ Rx


def jitter(rng: np.random.Generator, value: float, spread: float = SIZE_JITTER) -> float:
    """A real dimension ``value`` (m) varied by +-``spread`` relative."""
    return float(value * rng.uniform(1.0 - spread, 1.0 + spread))


class Placer:
    """Adds parts in an object frame (origin on the support at ``xy``, rotated by ``yaw``)."""

    def __init__(self, scene: Scene, xy, yaw: float, inst: int, material: Callable[[], dict],
                 z0: float = 0.0):
        self.scene, self.inst, self.material = scene, inst, material
        self.R = rot_euler(0, 0, yaw)
        self.origin = np.array([xy[0], xy[1], z0])
        self.tops: list[tuple[np.ndarray, np.ndarray]] = []  # (centre, half extents) of table tops

    def add(self, ptype: int, local_center, params, local_rot=None, material: dict | None = None):
        rot = self.R if local_rot is None else self.R @ local_rot
        center = self.origin + self.R @ np.asarray(local_center, np.float64)
        self.scene.add(ptype, center, rot, params, self.inst, material or self.material())

    def top(self, local_center, half_xy) -> None:
        """Record a horizontal surface where small objects may be put (world centre, half size)."""
        self.tops.append((self.origin + self.R @ np.asarray(local_center, np.float64),
                          np.asarray(half_xy, np.float64)))


# --- small objects (on tables and shelves, sometimes on the floor) -----------------------------

def mug(pl: Placer, rng):
    r, h = jitter(rng, 0.04), jitter(rng, 0.10)
    pl.add(CYLINDER, [0, 0, h / 2], [r, h / 2])
    hr = h * 0.3  # handle: a torus half buried in the body -> self-occlusion from most views
    pl.add(TORUS, [r, 0, h / 2], [hr, hr * 0.25], rot_euler(np.pi / 2, 0, 0))


def bottle(pl: Placer, rng):
    r, h = jitter(rng, 0.035), jitter(rng, 0.22)
    pl.add(CYLINDER, [0, 0, h * 0.35], [r, h * 0.35])
    pl.add(CYLINDER, [0, 0, h * 0.8], [r * 0.4, h * 0.15])


def book(pl: Placer, rng):
    w, d, t = jitter(rng, 0.16), jitter(rng, 0.23), jitter(rng, 0.03, 0.5)
    pl.add(BOX, [0, 0, t / 2], [w / 2, d / 2, t / 2])


def bowl(pl: Placer, rng):
    r = jitter(rng, 0.08)
    pl.add(TORUS, [0, 0, r * 0.25], [r, r * 0.25])


def ball(pl: Placer, rng):
    r = jitter(rng, 0.11)  # a football
    pl.add(SPHERE, [0, 0, r], [r])


# --- furniture --------------------------------------------------------------------------------

def _legs(pl: Placer, half_x: float, half_y: float, height: float, leg: float, round_legs: bool):
    for sx in (-1, 1):
        for sy in (-1, 1):
            c = [sx * (half_x - leg), sy * (half_y - leg), height / 2]
            if round_legs:
                pl.add(CYLINDER, c, [leg, height / 2])
            else:
                pl.add(BOX, c, [leg, leg, height / 2])


def table(pl: Placer, rng):
    """Dining / desk table: top at 0.72-0.76 m."""
    w, d, h = jitter(rng, 1.4, 0.25), jitter(rng, 0.8), rng.uniform(0.72, 0.76)
    top_t, leg = 0.03, 0.03
    pl.add(BOX, [0, 0, h - top_t / 2], [w / 2, d / 2, top_t / 2])
    _legs(pl, w / 2 - 0.04, d / 2 - 0.04, h - top_t, leg, rng.random() < 0.5)
    pl.top([0, 0, h], [w / 2 - 0.1, d / 2 - 0.1])


def coffee_table(pl: Placer, rng):
    w, d, h = jitter(rng, 1.0), jitter(rng, 0.55), jitter(rng, 0.45, 0.1)
    pl.add(BOX, [0, 0, h - 0.02], [w / 2, d / 2, 0.02])
    _legs(pl, w / 2 - 0.03, d / 2 - 0.03, h - 0.04, 0.025, False)
    pl.top([0, 0, h], [w / 2 - 0.08, d / 2 - 0.08])


def chair(pl: Placer, rng):
    """Seat about 0.45 m high, back top about 0.9 m."""
    s, h, back = jitter(rng, 0.45, 0.1), jitter(rng, 0.45, 0.08), jitter(rng, 0.9, 0.08)
    pl.add(BOX, [0, 0, h], [s / 2, s / 2, 0.02])
    pl.add(BOX, [-s / 2 + 0.02, 0, (h + back) / 2], [0.02, s / 2, (back - h) / 2])
    _legs(pl, s / 2 - 0.01, s / 2 - 0.01, h - 0.02, 0.018, rng.random() < 0.5)


def sofa(pl: Placer, rng):
    w, d = jitter(rng, 2.0), jitter(rng, 0.9, 0.1)
    seat, back, arm = jitter(rng, 0.45, 0.1), jitter(rng, 0.85, 0.1), 0.12
    pl.add(BOX, [0, 0, seat / 2], [d / 2, w / 2, seat / 2])
    pl.add(BOX, [-d / 2 + 0.1, 0, (seat + back) / 2], [0.1, w / 2, (back - seat) / 2])
    for sy in (-1, 1):
        pl.add(BOX, [0, sy * (w / 2 - arm / 2), seat + 0.1], [d / 2, arm / 2, 0.1])


def shelf(pl: Placer, rng):
    """Bookcase: 1.8-2.0 m tall, shelves every ~0.35 m, books on some shelves."""
    w, d, h = jitter(rng, 0.8), jitter(rng, 0.3, 0.1), rng.uniform(1.8, 2.0)
    n = int(round(h / 0.36))
    for i in range(n + 1):
        pl.add(BOX, [0, 0, 0.02 + i * (h - 0.04) / n], [w / 2, d / 2, 0.015])
    for sx in (-1, 1):
        pl.add(BOX, [sx * w / 2, 0, h / 2], [0.015, d / 2, h / 2])
    for i in range(n):
        if rng.random() < 0.6:
            z = 0.035 + i * (h - 0.04) / n
            for k in range(int(rng.integers(3, 9))):
                bw, bh = 0.03, jitter(rng, 0.22)
                x = -w / 2 + 0.05 + k * 0.07
                if x < w / 2 - 0.05:
                    pl.add(BOX, [x, 0, z + bh / 2], [bw / 2, d / 2 - 0.03, bh / 2])


def cabinet(pl: Placer, rng):
    w, d, h = jitter(rng, 0.8), jitter(rng, 0.45, 0.1), rng.choice([0.75, 0.9, 1.2]) * jitter(rng, 1, 0.05)
    pl.add(BOX, [0, 0, h / 2], [w / 2, d / 2, h / 2])
    pl.add(BOX, [d / 2 + 0.005, 0, h * 0.8], [0.01, 0.06, 0.01], rot_euler(0, 0, np.pi / 2))
    pl.top([0, 0, h], [w / 2 - 0.08, d / 2 - 0.08])


def floor_lamp(pl: Placer, rng):
    h = jitter(rng, 1.6, 0.08)
    pl.add(CYLINDER, [0, 0, 0.015], [0.15, 0.015])
    pl.add(CYLINDER, [0, 0, h / 2], [0.015, h / 2])  # thin pole
    pl.add(CYLINDER, [0, 0, h], [0.2, 0.12])


def plant(pl: Placer, rng):
    r, h = jitter(rng, 0.15), jitter(rng, 0.3)
    pl.add(CYLINDER, [0, 0, h / 2], [r, h / 2])
    for _ in range(int(rng.integers(1, 4))):
        fr = jitter(rng, 0.22, 0.3)
        pl.add(SPHERE, [rng.normal(0, 0.06), rng.normal(0, 0.06), h + fr * 0.8], [fr])


def storage_box(pl: Placer, rng):
    """Moving carton: 0.4 x 0.3 x 0.3 m, sometimes stacked."""
    hx, hy, hz = jitter(rng, 0.2), jitter(rng, 0.15), jitter(rng, 0.15)
    pl.add(BOX, [0, 0, hz], [hx, hy, hz])
    if rng.random() < 0.3:
        pl.add(BOX, [rng.normal(0, 0.03), 0, 3 * hz], [hx * 0.95, hy * 0.95, hz], rot_euler(0, 0, rng.normal(0, 0.2)))


def bin_(pl: Placer, rng):
    r, h = jitter(rng, 0.15), jitter(rng, 0.4)
    pl.add(CYLINDER, [0, 0, h / 2], [r, h / 2])


def exercise_ball(pl: Placer, rng):
    r = jitter(rng, 0.32, 0.1)
    pl.add(SPHERE, [0, 0, r], [r])


def swim_ring(pl: Placer, rng):
    R, r = jitter(rng, 0.3), jitter(rng, 0.09)
    pl.add(TORUS, [0, 0, R + r], [R, r], rot_euler(np.pi / 2, 0, 0))  # standing: seen edge-on


def door(pl: Placer, rng):
    """A door set into a wall: 0.9 m wide, 2.0-2.1 m tall, the frame standing out of the wall."""
    w, h = jitter(rng, 0.9, 0.08), rng.uniform(2.0, 2.1)
    pl.add(BOX, [0.02, 0, h / 2], [0.02, w / 2, h / 2])  # leaf, slightly proud of the wall
    for sy in (-1, 1):
        pl.add(BOX, [0.03, sy * (w / 2 + 0.04), h / 2 + 0.02], [0.03, 0.04, h / 2 + 0.02])
    pl.add(BOX, [0.03, 0, h + 0.06], [0.03, w / 2 + 0.08, 0.04])
    pl.add(SPHERE, [0.07, -w / 2 + 0.08, 1.0], [0.03])  # handle at 1.0 m


# --- outdoor ----------------------------------------------------------------------------------

def car(pl: Placer, rng):
    L, W = jitter(rng, 4.4, 0.1), jitter(rng, 1.8, 0.05)
    pl.add(BOX, [0, 0, 0.65], [L / 2, W / 2, 0.33])
    pl.add(BOX, [-0.2, 0, 1.2], [L / 4, W / 2 - 0.1, 0.24])
    for sx in (-1, 1):
        for sy in (-1, 1):
            pl.add(CYLINDER, [sx * L / 3, sy * W / 2, 0.32], [0.32, 0.11], rot_euler(np.pi / 2, 0, 0))


def tree(pl: Placer, rng):
    trunk_h, crown = jitter(rng, 2.5, 0.3), jitter(rng, 2.0, 0.3)
    pl.add(CYLINDER, [0, 0, trunk_h / 2], [jitter(rng, 0.15, 0.3), trunk_h / 2])
    for _ in range(int(rng.integers(1, 4))):
        r = crown * rng.uniform(0.6, 1.0)
        pl.add(SPHERE, [rng.normal(0, r * 0.3), rng.normal(0, r * 0.3), trunk_h + r * 0.7], [r])


def building(pl: Placer, rng):
    storeys = int(rng.integers(1, 5))
    hx, hy, hz = jitter(rng, 5.0, 0.4), jitter(rng, 4.0, 0.4), storeys * 3.0 / 2 + 0.3
    pl.add(BOX, [0, 0, hz], [hx, hy, hz])
    for s in range(storeys):  # window sills stand out of the facade
        pl.add(BOX, [hx + 0.05, 0, 1.0 + 3.0 * s], [0.05, hy * 0.8, 0.04])


def lamp_post(pl: Placer, rng):
    h = jitter(rng, 5.0, 0.2)
    pl.add(CYLINDER, [0, 0, h / 2], [0.07, h / 2])
    pl.add(BOX, [0.4, 0, h], [0.45, 0.08, 0.06])


def sign_post(pl: Placer, rng):
    h = jitter(rng, 2.3, 0.1)
    pl.add(CYLINDER, [0, 0, h / 2], [0.03, h / 2])
    pl.add(CYLINDER, [0.04, 0, h + 0.3], [0.3, 0.01], rot_euler(0, np.pi / 2, 0))


def person(pl: Placer, rng):
    """A standing pedestrian, 1.6-1.9 m: body, legs, head."""
    h = rng.uniform(1.6, 1.9)
    pl.add(CYLINDER, [0, 0.1, h * 0.25], [0.07, h * 0.25])
    pl.add(CYLINDER, [0, -0.1, h * 0.25], [0.07, h * 0.25])
    pl.add(BOX, [0, 0, h * 0.66], [0.12, 0.22, h * 0.16])
    pl.add(SPHERE, [0, 0, h * 0.93], [h * 0.065])


def bench(pl: Placer, rng):
    w = jitter(rng, 1.8)
    pl.add(BOX, [0, 0, 0.45], [0.22, w / 2, 0.03])
    pl.add(BOX, [-0.2, 0, 0.75], [0.02, w / 2, 0.15])
    for sy in (-1, 1):
        pl.add(BOX, [0, sy * (w / 2 - 0.1), 0.21], [0.2, 0.03, 0.21])


def bollard(pl: Placer, rng):
    h = jitter(rng, 0.9, 0.1)
    pl.add(CYLINDER, [0, 0, h / 2], [0.1, h / 2])


def fence(pl: Placer, rng):
    L, h = jitter(rng, 4.0, 0.5), jitter(rng, 1.2, 0.2)
    pl.add(BOX, [0, 0, h - 0.05], [0.03, L / 2, 0.05])
    pl.add(BOX, [0, 0, h * 0.4], [0.03, L / 2, 0.05])
    for k in range(int(L / 1.0) + 1):
        pl.add(BOX, [0, -L / 2 + k * 1.0, h / 2], [0.05, 0.05, h / 2])


def garden_wall(pl: Placer, rng):
    L, h = jitter(rng, 5.0, 0.4), jitter(rng, 1.8, 0.2)
    pl.add(BOX, [0, 0, h / 2], [L / 2, 0.12, h / 2])


def crate(pl: Placer, rng):
    s = jitter(rng, 0.6, 0.2)
    pl.add(BOX, [0, 0, s / 2], [s / 2, s / 2, s / 2])


def tyre(pl: Placer, rng):
    R, r = jitter(rng, 0.3, 0.1), jitter(rng, 0.1, 0.1)
    pl.add(TORUS, [0, 0, R + r], [R, r], rot_euler(np.pi / 2, 0, 0))


class Entry(NamedTuple):
    build: Callable[[Placer, np.random.Generator], None]
    weight: float
    footprint: float  # rough radius on the floor, m (placement keeps this much room)


# Furniture and floor objects of a room; TABLETOP items go on the recorded tops.
INDOOR = [Entry(table, 2.0, 0.8), Entry(coffee_table, 1.0, 0.55), Entry(chair, 2.5, 0.35),
          Entry(sofa, 1.0, 1.0), Entry(shelf, 1.5, 0.45), Entry(cabinet, 1.5, 0.45),
          Entry(floor_lamp, 0.8, 0.2), Entry(plant, 1.0, 0.25), Entry(storage_box, 1.5, 0.3),
          Entry(bin_, 0.8, 0.15), Entry(exercise_ball, 0.5, 0.35), Entry(swim_ring, 0.4, 0.4),
          Entry(ball, 0.5, 0.12), Entry(mug, 0.3, 0.06), Entry(bottle, 0.3, 0.05)]
TABLETOP = [Entry(mug, 2.0, 0.06), Entry(bottle, 1.5, 0.05), Entry(book, 2.0, 0.12),
            Entry(bowl, 1.0, 0.09), Entry(plant, 0.5, 0.2)]
# Furniture that stands with its back to a wall in real rooms ("furnished" room style, sample.py):
# each with the local horizontal direction of the side that goes against the wall.
AGAINST_WALL = [(Entry(shelf, 2.0, 0.45), (0.0, -1.0)), (Entry(cabinet, 1.5, 0.45), (0.0, -1.0)),
                (Entry(sofa, 1.0, 1.0), (-1.0, 0.0)), (Entry(table, 1.0, 0.8), (0.0, -1.0)),
                (Entry(storage_box, 0.5, 0.3), (0.0, -1.0))]
OUTDOOR = [Entry(tree, 3.0, 1.5), Entry(building, 1.5, 6.0), Entry(lamp_post, 1.5, 0.5),
           Entry(sign_post, 1.0, 0.3), Entry(car, 2.5, 2.3), Entry(person, 1.5, 0.3),
           Entry(bench, 1.0, 0.9), Entry(bollard, 1.0, 0.1), Entry(fence, 1.0, 2.0),
           Entry(garden_wall, 0.8, 2.5), Entry(crate, 1.0, 0.35), Entry(tyre, 0.5, 0.4),
           Entry(storage_box, 0.5, 0.3)]

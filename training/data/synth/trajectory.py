"""Smooth camera trajectories with rotation: exact camera-to-world poses at any time.

Position ``p(s) = p0 + v s + a * sin(w s + phi)`` (per axis), the camera looks at a target that
drifts with its own velocity, plus a slowly oscillating roll. All smooth, so 30 Hz frames
form realistic video for the self-supervised reprojection loss.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FRAME_RATE_HZ = 30.0
WORLD_UP = np.array([0.0, 0.0, 1.0])


def look_at(position: np.ndarray, target: np.ndarray, roll: float = 0.0) -> np.ndarray:
    """Camera-to-world 4x4 (float64) of an optical-frame camera at ``position`` facing ``target``."""
    z = np.asarray(target, np.float64) - position
    z = z / np.linalg.norm(z)
    x = np.cross(z, WORLD_UP)
    if np.linalg.norm(x) < 1e-6:  # looking straight up/down: any horizontal right vector
        x = np.array([1.0, 0.0, 0.0])
    x = x / np.linalg.norm(x)
    y = np.cross(z, x)
    c, s = np.cos(roll), np.sin(roll)
    x, y = c * x + s * y, -s * x + c * y
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = x, y, z, position
    return pose


@dataclass(frozen=True)
class Trajectory:
    """Smooth camera motion; ``pose(s)`` at time ``s`` seconds (s = 0 is the key frame)."""

    p0: np.ndarray
    velocity: np.ndarray
    wobble_amp: np.ndarray
    wobble_freq: np.ndarray
    wobble_phase: np.ndarray
    target0: np.ndarray
    target_velocity: np.ndarray
    roll0: float
    roll_amp: float
    roll_freq: float

    def position(self, s: float) -> np.ndarray:
        w = self.wobble_amp * (np.sin(self.wobble_freq * s + self.wobble_phase) - np.sin(self.wobble_phase))
        return self.p0 + self.velocity * s + w

    def pose(self, s: float) -> np.ndarray:
        target = self.target0 + self.target_velocity * s
        roll = self.roll0 + self.roll_amp * np.sin(self.roll_freq * s)
        return look_at(self.position(s), target, roll)

    def frame_pose(self, frame: int) -> np.ndarray:
        """Pose of frame ``frame`` (may be negative) of the 30 Hz video around the key frame."""
        return self.pose(frame / FRAME_RATE_HZ)


def random_trajectory(rng: np.random.Generator, p0: np.ndarray, target0: np.ndarray,
                      speed: float) -> Trajectory:
    """A trajectory starting at p0 looking at target0, moving about ``speed`` m/s."""
    direction = rng.normal(size=3) * np.array([1.0, 1.0, 0.2])
    direction /= np.linalg.norm(direction) + 1e-9
    return Trajectory(
        p0=np.asarray(p0, np.float64), velocity=direction * speed,
        wobble_amp=rng.uniform(0.0, 0.15, 3) * np.array([1, 1, 0.4]),
        wobble_freq=rng.uniform(0.5, 3.0, 3), wobble_phase=rng.uniform(0, 2 * np.pi, 3),
        target0=np.asarray(target0, np.float64), target_velocity=rng.normal(size=3) * 0.4 * np.array([1, 1, 0.3]),
        roll0=float(rng.normal(0, 0.05)), roll_amp=float(rng.uniform(0, 0.08)),
        roll_freq=float(rng.uniform(0.5, 2.0)),
    )


def trajectory_positions(traj: Trajectory, span_s: float = 1.0, n: int = 9) -> np.ndarray:
    """Sampled camera positions over [-span, span] seconds (for keeping objects clear)."""
    return np.stack([traj.position(s) for s in np.linspace(-span_s, span_s, n)])


@dataclass(frozen=True)
class Patrol:
    """A robot's patrol of one room: minutes of loops around the room's middle at robot speed.

    The camera circles an ellipse (``radii``, metres) around ``centre`` at ``speed`` m/s, facing
    the way it drives, its gaze swinging ``look_amp`` radians to either side every ``look_period``
    seconds (a robot turning to look around), the loop's size breathing by ``breathe`` over
    ``breathe_period`` so that later loops see the room from new places. Same interface as
    ``Trajectory`` (``position``, ``pose``, ``frame_pose``); s = 0 is the recording's start.
    """

    centre: np.ndarray       # (x, y) of the loop's middle
    radii: np.ndarray        # (a, b) half-axes of the loop
    height: float            # camera height above the floor
    pitch: float             # radians, negative looks down
    speed: float             # m/s along the loop
    look_amp: float
    look_period: float
    breathe: float           # share of the radii
    breathe_period: float

    def _angle(self, s: float) -> float:
        return s * self.speed / float(np.mean(self.radii))

    def position(self, s: float) -> np.ndarray:
        size = 1.0 + self.breathe * np.sin(2 * np.pi * s / self.breathe_period)
        angle = self._angle(s)
        xy = self.centre + size * self.radii * np.array([np.cos(angle), np.sin(angle)])
        return np.array([xy[0], xy[1], self.height])

    def pose(self, s: float) -> np.ndarray:
        angle = self._angle(s)
        heading = np.arctan2(self.radii[1] * np.cos(angle), -self.radii[0] * np.sin(angle))  # tangent
        heading += self.look_amp * np.sin(2 * np.pi * s / self.look_period)
        p = self.position(s)
        level = np.cos(self.pitch)
        return look_at(p, p + np.array([np.cos(heading) * level, np.sin(heading) * level, np.sin(self.pitch)]))

    def frame_pose(self, frame: int) -> np.ndarray:
        """Pose of frame ``frame`` of the 30 Hz video from the recording's start."""
        return self.pose(frame / FRAME_RATE_HZ)


def random_patrol(rng: np.random.Generator, room: np.ndarray, height: float, pitch: float) -> Patrol:
    """A patrol of a room of size ``room`` (x, y, z, centred on the origin), 0.9 m clear of its walls."""
    radii = np.maximum(room[:2] / 2 - 0.9, 0.4) / 1.15  # room for the loop's breathing
    return Patrol(centre=np.zeros(2), radii=radii, height=height, pitch=pitch, speed=float(rng.uniform(0.2, 0.4)),
                  look_amp=float(rng.uniform(0.4, 0.9)), look_period=float(rng.uniform(8, 20)), breathe=0.15,
                  breathe_period=float(rng.uniform(60, 150)))


def patrol_positions(patrol: Patrol, n: int = 96) -> np.ndarray:
    """Camera positions around the whole loop at its widest and narrowest (for keeping objects clear)."""
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
    ring = np.stack([np.cos(angles), np.sin(angles)], 1) * patrol.radii
    rings = [patrol.centre + (1 + k * patrol.breathe) * ring for k in (-1, 0, 1)]
    xy = np.concatenate(rings)
    return np.concatenate([xy, np.full((len(xy), 1), patrol.height)], 1)

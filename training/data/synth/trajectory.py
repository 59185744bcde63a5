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

"""Public entry points: render one scene, a batch of seeds, or a frame sequence."""
from __future__ import annotations

import torch

from training.data.synth.profiles import DEFAULT_PROFILES
from training.data.synth.render import render_batch
from training.data.synth.sample import sample_scene


def render_seeds(seeds: list[int], height: int, width: int, device: str | torch.device = "cpu",
                 frames: list[int] | None = None, noise: bool = True,
                 profiles: tuple[str, ...] = DEFAULT_PROFILES, rooms: str = "classic") -> dict:
    """Batched render of the key frame (or ``frames[i]`` of the 30 Hz video) of each seed.

    ``profiles``: camera deployment profiles the scenes are drawn with (``profiles.py``);
    ``rooms``: the room style (``sample.ROOM_STYLES``).
    """
    scenes = [sample_scene(int(s), tuple(profiles), rooms) for s in seeds]
    frames = frames or [0] * len(scenes)
    poses = [sc.trajectory.frame_pose(f) for sc, f in zip(scenes, frames)]
    # camera noise differs per frame of one sequence but stays reproducible
    noise_seeds = [int(s) * 1009 + int(f) for s, f in zip(seeds, frames)]
    ref = [list(seeds).index(s) for s in seeds]  # frames of one scene share the first one's exposure
    return render_batch(scenes, height, width, poses=poses, device=device, seeds=noise_seeds, noise=noise,
                        exposure_ref=ref)


def render_scene(seed: int, height: int, width: int, device: str | torch.device = "cpu",
                 frame: int = 0, noise: bool = True) -> dict:
    """One frame of scene ``seed``: dict of unbatched tensors (see ``render.render_batch``)."""
    out = render_seeds([seed], height, width, device, [frame], noise)
    return {k: v[0] for k, v in out.items()}


def render_sequence(seed: int, height: int, width: int, frames=(-1, 0, 1), device="cpu",
                    noise: bool = True) -> dict:
    """Several frames of one scene along its trajectory: tensors stacked on dim 0 (len(frames))."""
    frames = list(frames)
    return render_seeds([seed] * len(frames), height, width, device, frames, noise)


def seed_for(split_range: tuple[int, int], index: int) -> int:
    lo, hi = split_range
    if not 0 <= index < hi - lo:
        raise IndexError(f"index {index} outside the split's {hi - lo} seeds")
    return lo + index


__all__ = ["render_scene", "render_seeds", "render_sequence", "seed_for"]

"""Procedural synthetic scene engine: exact ray-cast RGB, depth, normals, instances and OB labels.

Public API: ``render_scene``, ``render_seeds``, ``render_sequence``, ``SyntheticDepthDataset``,
``write_bag``, ``SPLITS`` (seed ranges per split) and ``split_of_seed``. Relative poses between
frames: ``training.losses.reprojection.relative_pose``.
"""
from training.data.synth.api import render_scene, render_seeds, render_sequence
from training.data.synth.dataset import SyntheticDepthDataset
from training.data.synth.scene import SPLITS, split_of_seed


def write_bag(*args, **kwargs):
    """See ``training.data.synth.bag.write_bag`` (imported lazily: it needs rosbags)."""
    from training.data.synth.bag import write_bag as _write_bag
    return _write_bag(*args, **kwargs)


__all__ = ["SPLITS", "SyntheticDepthDataset", "render_scene", "render_seeds", "render_sequence",
           "split_of_seed", "write_bag"]

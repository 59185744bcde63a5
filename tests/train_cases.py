"""Tiny training fixtures shared by the tests/test_train_*.py files (48x64 renders, tiny model)."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

TINY_MODEL = {"input_height": 48, "input_width": 64, "decoder_channels": [16, 16, 16, 16],
              "canonical_focal": 50.0, "max_depth": 40.0}


@pytest.fixture(scope="session")
def tiny_caches(tmp_path_factory) -> tuple[Path, Path]:
    """Two 48x64 train scenes with source frames (-2, +2) and two val scenes."""
    from training.data.frames import render_cache

    root = tmp_path_factory.mktemp("train_cache")
    train = render_cache(root / "train.pt", "train", 2, 48, 64, (-2, 2), batch=2)
    val = render_cache(root / "val.pt", "val", 2, 48, 64, (), batch=2)
    return train, val


def write_config(path: Path, caches: tuple[Path, Path], **groups: dict) -> Path:
    """A tiny YAML config: full-frame batches (no crop randomness), 1 thread, no TensorBoard."""
    values = {"model": dict(TINY_MODEL),
              "data": {"train_cache": str(caches[0]), "val_cache": str(caches[1]),
                       "crop_height": 48, "crop_width": 64, "flip": False, "batch_size": 2,
                       "val_images": 2},
              "optim": {"lr": 1e-3},
              "schedule": {"max_steps": 8, "val_every": 0, "checkpoint_every": 2, "log_every": 1},
              "run": {"threads": 1, "tensorboard": False, "output": str(path.parent / "run")}}
    for group, items in groups.items():
        values.setdefault(group, {}).update(items)
    path.write_text(yaml.safe_dump(values))
    return path

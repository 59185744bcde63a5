"""Shared test setup: deterministic, single-threaded torch so parallel tests stay fast on 2 cores."""
import os

import numpy as np
import pytest

os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")

try:
    import torch

    torch.set_num_threads(1)
except ImportError:  # pragma: no cover
    torch = None


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)

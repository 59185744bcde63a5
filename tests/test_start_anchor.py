"""The pull toward the start weights (L2-SP, ``optim.start_decay``): it pulls by lr x strength and needs --init."""
from __future__ import annotations

import csv

import pytest
import torch

from modot_ros.checkpoint import load_checkpoint
from training.config import load_config
from training.start_anchor import DEPTH_PARTS, StartAnchor
from training.train import main
from training.trainer import train
from tests.train_cases import tiny_caches, write_config  # noqa: F401  (fixture)


@pytest.mark.parametrize("lr, strength, share", [(0.1, 5.0, 0.5), (0.1, 10.0, 1.0), (0.1, 1e6, 1.0), (0.0, 5.0, 0.0)])
def test_pull_moves_each_parameter_lr_times_strength_of_the_gap(lr, strength, share):
    """Each step closes lr x strength of the gap to the start (all of it at >= 1), and drift says what is left."""
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    anchor = StartAnchor(model, start, strength)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    moved = [p.detach().clone() for p in model.parameters()]
    anchor.pull(optimizer)
    for p, before, name in zip(model.parameters(), moved, ("weight", "bias")):
        assert torch.allclose(p, before + share * (start[name] - before), atol=1e-6)
    assert anchor.drift(model).item() == pytest.approx(
        (1 - share) * (sum(p.numel() for p in moved) / float(sum((s ** 2).sum() for s in start.values()))) ** 0.5,
        rel=1e-4)


def _weights_gap(a: dict, b: dict) -> float:
    return max((a[k].float() - b[k].float()).abs().max().item() for k in a if not k.endswith("num_batches_tracked")
               and "running" not in k)


def test_full_pull_keeps_a_fine_tune_at_its_start_and_logs_its_drift(tmp_path, tiny_caches):  # noqa: F811
    """lr x strength >= 1 undoes every step: the fine-tune's weights stay the --init ones; 0 lets them move."""
    start = train(load_config(write_config(tmp_path / "a.yaml", tiny_caches, schedule={"max_steps": 2})),
                  tmp_path / "start")
    runs = {}
    for name, decay in (("held", 1e9), ("free", 0.0)):  # lr x 1e9 > 1 at any scheduled lr: a full pull
        config = load_config(write_config(tmp_path / f"{name}.yaml", tiny_caches, schedule={"max_steps": 5},
                                          optim={"lr": 1e-3, "start_decay": decay}))
        runs[name] = train(config, tmp_path / name, init=start)
    initial = load_checkpoint(start).state_dict
    assert _weights_gap(load_checkpoint(runs["held"]).state_dict, initial) < 1e-6
    assert _weights_gap(load_checkpoint(runs["free"]).state_dict, initial) > 1e-4
    with open(tmp_path / "held" / "train.csv") as f:
        drifts = [float(row["start_drift"]) for row in csv.DictReader(f)]
    assert len(drifts) == 3 and max(drifts) < 1e-6


def test_the_depth_side_has_its_own_pull(tmp_path, tiny_caches):  # noqa: F811
    """start_decay_depth 0 beside a full pull: only the depth decoder and head leave their start weights."""
    start = train(load_config(write_config(tmp_path / "a.yaml", tiny_caches, schedule={"max_steps": 2})),
                  tmp_path / "start")
    config = load_config(write_config(tmp_path / "depth.yaml", tiny_caches, schedule={"max_steps": 5},
                                      optim={"lr": 1e-3, "start_decay": 1e9, "start_decay_depth": 0.0}))
    after = load_checkpoint(train(config, tmp_path / "depth", init=start)).state_dict
    initial = load_checkpoint(start).state_dict
    depth = {k for k in initial if k.startswith(DEPTH_PARTS)}
    assert depth and _weights_gap({k: after[k] for k in depth}, initial) > 1e-4
    assert _weights_gap({k: after[k] for k in initial if k not in depth}, initial) < 1e-6


def test_start_decay_without_init_is_one_line(tmp_path, tiny_caches, capsys):  # noqa: F811
    """A pull toward start weights nobody named is refused before any data, with the fix."""
    config = write_config(tmp_path / "c.yaml", tiny_caches, optim={"start_decay": 50.0})
    assert main(["--config", str(config), "--output", str(tmp_path / "run")]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: optim.start_decay=50.0 pulls toward the --init weights: give --init (the checkpoint the fine-tune "
        "starts from; a resumed run gives the same one again), or set it to 0")
    assert not (tmp_path / "run").exists()

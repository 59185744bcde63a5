"""A bad weights file ends loading with one line naming the file, the problem and the fix.

The loader reads with ``weights_only=True`` and never repeats torch's advice to load unsafely.
"""
import json
import os
import pickle
import re

import pytest
import torch

from modot_ros.checkpoint import CheckpointError, default_weights_path, load_checkpoint
from modot_ros.evaluation.bag_evaluation import main as eval_bag
from modot_ros.inference import DepthBoundaryEstimator
from tests.bag_cases import write_case_bag


class RunsCode:
    """Unpickling this calls os.system: what a malicious "checkpoint" does."""

    def __reduce__(self):
        return os.system, ("echo pwned > /dev/null",)


def _zero(path):
    path.write_bytes(b"")


def _random(path):
    path.write_bytes(os.urandom(4096))


def _truncated(path):
    good = default_weights_path().read_bytes()
    path.write_bytes(good[: len(good) * 6 // 10])


def _torch_code(path):
    torch.save({"format": "x", "payload": RunsCode()}, path)


def _plain_pickle_code(path):
    path.write_bytes(pickle.dumps(RunsCode(), protocol=4))


def _json(path):
    path.write_text(json.dumps({"state_dict": {}, "model_config": {}}))


def _foreign_state_dict(path):
    torch.save(torch.nn.Conv2d(3, 8, 3).state_dict(), path)


CASES = {  # how to break the file -> what the one line must say
    "zero_byte": (_zero, r"empty file \(0 bytes\).*copy it again"),
    "random_bytes": (_random, r"not a torch checkpoint \(unknown bytes [0-9a-f]{8}\).*training"),
    "truncated": (_truncated, r"truncated or corrupt \(\d+ bytes.*copy it again"),
    "torch_pickle_with_code": (_torch_code, r"refused: the file holds Python objects \((posix|os|nt)\.system\)"),
    "plain_pickle_with_code": (_plain_pickle_code, r"refused: the file holds Python objects \((posix|os|nt)\.system\)"),
    "json": (_json, r"not a torch checkpoint \(a text/JSON file\)"),
    "state_dict_of_another_model": (_foreign_state_dict, r"a bare state_dict \(2 tensors, e\.g\. 'weight'\)"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_weights_give_one_line(tmp_path, case):
    """Each kind of bad file names itself and its problem in one line, without unsafe advice."""
    make, reason = CASES[case]
    path = tmp_path / f"{case}.pt"
    make(path)
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(path)
    line = str(caught.value)
    assert line.startswith(f"checkpoint {path}: ") and "\n" not in line
    assert "weights_only" not in line
    assert re.search(reason, line), line


def test_estimator_and_cli_report_the_same_line(tmp_path, capsys):
    """The node's loader and modot-eval-bag both stop with the checkpoint's line (exit 2)."""
    path = tmp_path / "empty.pt"
    path.write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty file"):
        DepthBoundaryEstimator.from_checkpoint(path, device="cpu", warmup=0)
    bag = write_case_bag(tmp_path / "bag", n=1)
    assert eval_bag([str(bag), "-o", str(tmp_path / "out"), "--checkpoint", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"modot-eval-bag: error: checkpoint {path}: empty file (0 bytes): the copy or "
                   "download did not finish; copy it again"]

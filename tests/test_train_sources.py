"""Mixed-source fine-tuning: synthetic + folder + bag in one run, recorded, exported, evaluated."""
from __future__ import annotations

import json

import numpy as np

from modot_ros.checkpoint import load_checkpoint
from tests.bag_cases import write_case_bag
from tests.data_cases import write_folder, write_nyu_mat
from tests.train_cases import tiny_caches, write_config  # noqa: F401 (fixture)
from training.data.frames import load_cache
from training.evaluate import main as evaluate_main
from training.export import export_runtime
from training.train import main as train_main


def test_mixed_run_records_sources_and_export_keeps_them(tmp_path, tiny_caches, capsys):  # noqa: F811
    """50 % engine + a folder + a depth-only bag train together; the checkpoint names every source."""
    folder = write_folder(tmp_path / "folder", n=3, labels=True)
    bag = write_case_bag(tmp_path / "bag", n=4, depth_encoding="16UC1", boundary=False)
    sources = [{"kind": "synthetic", "weight": 0.5}, {"kind": "folder", "path": str(folder), "weight": 0.25},
               {"kind": "bag", "path": str(bag), "weight": 0.25, "ob": "none"}]
    config = write_config(tmp_path / "c.yaml", tiny_caches, schedule={"max_steps": 3},
                          data={"sources": sources, "batch_size": 4})
    assert train_main(["--config", str(config), "--output", str(tmp_path / "run")]) == 0
    data = load_checkpoint(tmp_path / "run" / "final.pt").data
    kinds = [(s["kind"], s["weight"], s["ob"]) for s in data["sources"]]
    assert kinds == [("synthetic", 0.5, "labels"), ("folder", 0.25, "labels"), ("bag", 0.25, "none")]
    assert data["sources"][2]["frames"] == 4 and data["sources"][1]["frame_size"] == [96, 128]
    exported = export_runtime(tmp_path / "run" / "final.pt", tmp_path / "runtime.pt", half=True)
    assert load_checkpoint(exported).data["sources"] == data["sources"]
    capsys.readouterr()
    out = tmp_path / "eval"
    for source in (f"folder:{folder}", f"bag:{bag}", f"nyu_mat:{write_nyu_mat(tmp_path / 'nyu.mat', 2)}"):
        assert evaluate_main(["--checkpoint", str(exported), "--source", source, "--n", "2", "--baselines",
                              "none", "--panels", "0", "--output", str(out)]) == 0
        assert np.isfinite(json.loads((out / "metrics.json").read_text())["abs_rel"])


def test_bad_source_stops_the_trainer_with_one_line(tmp_path, tiny_caches, capsys):  # noqa: F811
    """A folder without intrinsics ends training before step 1: exit 2 and one line naming it."""
    folder = write_folder(tmp_path / "folder", n=2)
    (folder / "intrinsics.yaml").unlink()
    config = write_config(tmp_path / "c.yaml", tiny_caches,
                          data={"sources": [{"kind": "folder", "path": str(folder)}]})
    capsys.readouterr()
    assert train_main(["--config", str(config), "--output", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(folder) in err and "intrinsics" in err


def test_real_only_run_renders_its_validation_scenes_itself(tmp_path, tiny_caches):  # noqa: F811
    """A fine-tune on a folder alone needs no hand-built synthetic cache: the val scenes are rendered."""
    folder = write_folder(tmp_path / "folder", n=2, height=48, width=64)
    val_cache = tmp_path / "no_such_val.pt"
    config = write_config(tmp_path / "c.yaml", tiny_caches, schedule={"max_steps": 2},
                          data={"sources": [{"kind": "folder", "path": str(folder)}], "val_cache": str(val_cache)})
    assert train_main(["--config", str(config), "--output", str(tmp_path / "run")]) == 0
    cache = load_cache(val_cache)
    assert cache["split"] == "val" and len(cache["seeds"]) == 2 and tuple(cache["depth"].shape[-2:]) == (48, 64)

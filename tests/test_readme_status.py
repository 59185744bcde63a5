"""The README's status rows come from what their commands wrote (``scripts/readme_status.py``).

The block itself is compared with the generator in ``tests/test_docs.py``; here: recording picks the
right numbers from each command's output, and refuses outputs that are not status figures.
"""
import json
import shutil

import pytest

from benchmarks import bench_node
from scripts import readme_status

TIMING = {"latencies": [0.05, 0.06, 0.07], "seconds": 1.0, "sent": 3, "diag": {"forward_ms": "40"}}


@pytest.fixture
def status_dir(tmp_path):
    """A copy of the committed rows, to record into."""
    return shutil.copytree(readme_status.STATUS_DIR, tmp_path / "status")


def write(path, data):
    path.write_text(json.dumps(data))
    return path


def bench_output(quick: bool = False) -> dict:
    """What ``python -m benchmarks --only node,backends`` writes, with its real row names."""
    def node(backend: str, timing: dict) -> list[dict]:
        label = f"node lite0 320x240 image, net 320x240, {backend}"
        return [row if row["name"].startswith(label) else row | {"name": f"  {row['name']}"}
                for row in bench_node.rows(timing, label, 20.0)]

    auto = node("auto", TIMING | {"latencies": [0.02, 0.03]})
    auto[0]["note"] = "auto chose openvino (CPU): onnxruntime 30.1, openvino 25.0, torch 70.2 ms per forward"
    return {"hardware": {"cpu": "x86_64", "threads": 4, "cuda": None}, "quick": quick,
            "results": {"node.end_to_end": bench_node.rows(TIMING | {"latencies": [0.5]}),
                        "backends.node_torch": node("torch", TIMING), "backends.node_auto": auto}}


def test_every_row_has_its_committed_numbers():
    """Each row of the block has a file under docs/status/ naming the row's command."""
    for name, row in readme_status.ROWS.items():
        entry = json.loads((readme_status.STATUS_DIR / f"{name}.json").read_text())
        assert entry["command"] == row.command and entry["values"], name


def test_an_evaluation_output_becomes_the_synthetic_row(tmp_path, status_dir):
    """training.evaluate's metrics.json -> the row's numbers, with the targets' verdict."""
    source = write(tmp_path / "metrics.json", {"n_frames": 32.0, "abs_rel": 0.1104, "delta1": 0.861, "ods": 0.73})
    readme_status.record("synthetic_test", source, status_dir=status_dir)
    block = readme_status.render(status_dir)
    assert "| synthetic test split, 32 frames | AbsRel 0.110, δ1 0.861 (target ≤ 0.12 / ≥ 0.85: met) " \
           "| ODS 0.730 (target 0.72) |" in block


def test_a_real_frames_report_row_names_the_weights_and_the_verdict(tmp_path, status_dir):
    """The chosen model's aligned/metric AbsRel and its bootstrap against the constant."""
    summary = {"constant": {"abs_rel": float("nan"), "abs_rel_aligned": 0.25},
               "cand": {"abs_rel": 0.3, "abs_rel_aligned": 0.18}}
    report = {"summary": summary, "frames": ["a", "b"],
              "bootstrap": [{"a": "cand", "b": "constant", "mean": -0.07, "low": -0.1, "high": -0.02}]}
    source = write(tmp_path / "real_frames.json", report)
    with pytest.raises(ValueError, match="no model 'shipped'"):
        readme_status.record("real_dev", source, status_dir=status_dir)
    readme_status.record("real_dev", source, model="cand", status_dir=status_dir)
    assert "aligned AbsRel 0.180 vs a constant's 0.250: **better than a constant** (interval [−0.100, −0.020])" \
        in readme_status.render(status_dir)


def test_benchmark_rows_give_the_speed_row_and_quick_runs_are_refused(tmp_path, status_dir):
    """Node rate and median latency per backend; a --quick smoke run is no status figure."""
    with pytest.raises(ValueError, match="quick"):
        readme_status.record("speed", write(tmp_path / "quick.json", bench_output(quick=True)), status_dir=status_dir)
    readme_status.record("speed", write(tmp_path / "bench.json", bench_output()), status_dir=status_dir)
    assert ("| speed, 4-core CPU, 320×240 | default (auto, chose openvino (CPU)) 2.0 Hz (p50 25 ms); "
            "torch 3.0 Hz (p50 60 ms): 0.7× torch |") in readme_status.render(status_dir)


def test_writing_the_readme_replaces_only_the_block(tmp_path, status_dir):
    """Text around the markers stays as it was."""
    readme = tmp_path / "README.md"
    readme.write_text("# x\n\n<!-- status:begin -->\nold\n<!-- status:end -->\n\nafter\n")
    readme_status.write_readme(readme, status_dir)
    assert readme.read_text() == f"# x\n\n<!-- status:begin -->\n{readme_status.render(status_dir)}\n" \
                                 "<!-- status:end -->\n\nafter\n"

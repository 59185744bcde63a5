"""The README's "status and limits" block, from the numbers its measuring commands wrote.

Each table row is one command. ``--refresh ROW`` runs that command exactly as the README prints it,
copies the numbers the row needs from the command's own output into ``docs/status/ROW.json``
(committed, with the command, the output it came from and its date) and rewrites the block;
``--record ROW [--from OUTPUT]`` does the same for a run made by hand or on another machine.
Without options it prints the block, which ``tests/test_docs.py`` compares with the README's.

Why copy from the outputs rather than add a ``--status`` option to each command: the commands
(``training.evaluate``, ``training.real_frames_report``, ``make demo``, ``benchmarks``) keep no
knowledge of the README, one module holds what each row shows, and the committed files change only
when someone chooses to put a run's numbers into the README.
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
STATUS_DIR = REPO / "docs" / "status"
README = REPO / "README.md"
BLOCK = re.compile(r"(<!-- status:begin -->\n).*?(<!-- status:end -->)", re.S)
# targets of the project brief, shown beside the numbers that are held to them
TARGET_ABS_REL, TARGET_DELTA1, TARGET_ODS, TARGET_DEMO_ABS_REL = 0.12, 0.85, 0.72, 0.15


def _n(value: float) -> str:
    """Three decimals with a real minus sign and an explicit plus, as the README writes intervals."""
    return f"{value:+.3f}".replace("-", "−")


def _met(ok: bool) -> str:
    return "met" if ok else "missed"


@dataclass(frozen=True)
class Row:
    """One table row: where its command writes, what it keeps of that, and how it reads."""

    name: str
    command: str
    output: str  # relative to the repository, as the command writes it
    pick: Callable[[dict, str], dict]  # (the output's JSON, model label) -> the numbers kept
    cells: Callable[[dict], tuple[str, str, str]]  # kept numbers -> measured on, depth, boundaries
    per_model: bool = False  # its output scores several weights: --model names the one shown


def _pick_evaluate(out: dict, model: str) -> dict:
    return {"frames": int(out["n_frames"]), "abs_rel": out["abs_rel"], "delta1": out["delta1"], "ods": out["ods"]}


def _cells_synthetic(v: dict) -> tuple[str, str, str]:
    depth_ok = v["abs_rel"] <= TARGET_ABS_REL and v["delta1"] >= TARGET_DELTA1
    return (f"synthetic test split, {v['frames']} frames",
            f"AbsRel {v['abs_rel']:.3f}, δ1 {v['delta1']:.3f} (target ≤ {TARGET_ABS_REL} / ≥ {TARGET_DELTA1}: "
            f"{_met(depth_ok)})", f"ODS {v['ods']:.3f} (target {TARGET_ODS})")


def _pick_demo(out: dict, model: str) -> dict:
    return {"frames": out["frames_in"], "abs_rel": out["abs_rel"], "ods": out["ob_ods_f"], "weights": out["weights"]}


def _cells_demo(v: dict) -> tuple[str, str, str]:
    return (f"demo bag, {v['frames']} synthetic frames through the real node",
            f"AbsRel {v['abs_rel']:.3f} (target ≤ {TARGET_DEMO_ABS_REL}: {_met(v['abs_rel'] <= TARGET_DEMO_ABS_REL)})",
            f"ODS {v['ods']:.3f}")


def _pick_real(out: dict, model: str) -> dict:
    """The model's aligned and metric AbsRel, the constant's, and their paired bootstrap."""
    if model not in out["summary"]:
        raise ValueError(f"no model '{model}' in this report (it has {', '.join(out['summary'])}); pass --model")
    pair = next((b for b in out["bootstrap"] if (b["a"], b["b"]) == (model, "constant")), None)
    picked = {"frames": len(out["frames"]), "aligned": out["summary"][model]["abs_rel_aligned"],
              "metric": out["summary"][model]["abs_rel"], "constant": out["summary"]["constant"]["abs_rel_aligned"]}
    return picked | ({"low": pair["low"], "high": pair["high"]} if pair and len(out["frames"]) > 1 else {})


def _versus_constant(v: dict) -> str:
    if v["high"] < 0:
        return "**better than a constant**"
    return "**worse than a constant**" if v["low"] > 0 else "**not yet decidedly better than a constant**"


def _cells_real_dev(v: dict) -> tuple[str, str, str]:
    return (f"{v['frames']} real indoor frames (OAK-D stereo GT)",
            f"aligned AbsRel {v['aligned']:.3f} vs a constant's {v['constant']:.3f}: {_versus_constant(v)} "
            f"(interval [{_n(v['low'])}, {_n(v['high'])}]); metric AbsRel {v['metric']:.3f} (for metric scale use "
            "`scale_source`)", "follow object outlines (panels)")


def _cells_middlebury(v: dict) -> tuple[str, str, str]:
    return ("Middlebury motorcycle (real, metric GT)",
            f"aligned {v['aligned']:.3f}, metric {v['metric']:.3f} (constant {v['constant']:.3f} aligned)", "–")


def _pick_bench(out: dict, model: str) -> dict:
    """Rate and median latency of the node, its default (auto, and what it chose) and torch, 320x240 images."""
    if out.get("quick"):
        raise ValueError("a --quick benchmark run is a smoke test, not a status figure")
    picked = {"threads": out["hardware"]["threads"], "gpu": out["hardware"]["cuda"]}
    for backend, group, label in (("auto", "backends.node_auto", "node lite0 320x240 image"),
                                  ("torch", "backends.node_torch", "node lite0 320x240 image")):
        rows = out["results"][group]
        start = next(i for i, r in enumerate(rows) if r["name"].startswith(label))
        latency = next(r for r in rows[start:] if r["name"].strip() == "end-to-end latency image->points median")
        picked[backend] = {"hz": rows[start]["value"], "p50_ms": latency["value"]}
    choice = out["results"]["backends.node_auto"][0].get("note", "")
    picked["auto"]["chose"] = choice.split(":")[0].removeprefix("auto chose ").strip() or "?"
    return picked


def _cells_speed(v: dict) -> tuple[str, str, str]:
    where = v["gpu"] or f"{v['threads']}-core CPU"
    names = {"auto": f"default (auto, chose {v.get('auto', {}).get('chose')})"}
    cells = [f"{names.get(b, b)} {v[b]['hz']:.1f} Hz (p50 {v[b]['p50_ms']:.0f} ms)"
             for b in ("auto", "torch", "onnxruntime") if b in v]
    ratio = f": {v['auto']['hz'] / v['torch']['hz']:.1f}× torch" if "auto" in v and "torch" in v else ""
    return f"speed, {where}, 320×240", "; ".join(cells) + ratio, "–"


ROWS = {row.name: row for row in (
    Row("synthetic_test", "python -m training.evaluate --checkpoint modot_ros/weights/modot_lite0.pt --split test "
        "--n 64 --output build/eval/lite0", "build/eval/lite0/metrics.json", _pick_evaluate, _cells_synthetic),
    Row("demo", "make demo", "build/demo/summary.json", _pick_demo, _cells_demo),
    Row("real_dev", "python -m training.real_frames_report --source folder:../shared/data/real_indoor_dev "
        "--checkpoint shipped --output build/eval/real_dev", "build/eval/real_dev/real_frames.json", _pick_real,
        _cells_real_dev, per_model=True),
    Row("middlebury", "python -m training.real_frames_report --source middlebury --checkpoint shipped "
        "--output build/eval/real_mb", "build/eval/real_mb/real_frames.json", _pick_real, _cells_middlebury,
        per_model=True),
    Row("speed", "python -m benchmarks --only node,backends", "build/bench.json", _pick_bench, _cells_speed),
)}

HEAD = """**Status ({date}): the node, bags and tools hold; the network does not yet transfer to real
cameras.** Treat depth on a real camera as a qualitative layout; occlusion boundaries follow
object outlines better than depth does. Shipped weights (leg 6), each row with its command:"""
TAIL = """Not yet: no GPU has run the node or the Lite2 training ([benchmarks](docs/benchmarks.md)), the lever
left for real rooms: the Lite0 recipe has plateaued near 0.19 on the dev frames (experiment log 15).
Metric scale on a real camera needs what the robot knows ([metric scale](docs/metric_scale.md): camera
height, a range sensor) or your own recording: `modot-adapt` learns the camera's scale from a few frames
with depth or a lidar row (RealSense room metric 1.48 → 0.27; 500 points per frame also its structure,
aligned 0.296 → 0.271) and, with dense depth, the rooms'
structure without forgetting the engine's (on frames not trained on, aligned / metric: TUM 0.226 /
0.225 → 0.155 / 0.158, 0.120 / 0.134 with the depth side free (`--start-decay-depth 0`, log 24),
RealSense 0.209 / 1.25 → 0.176 / 0.182, OAK-D 0.207 → 0.182, a Kinect home 0.288 / 0.310 → 0.218 /
0.260; three stills per room reach the issue's 0.15 / 0.18 only on TUM's hall with a freer depth side); on a
synthetic patrol of an unseen room two minutes of recording reach 0.099 aligned and metric with dense
depth, 0.125 / 0.140 (aligned / metric) from video with odometry and 0.118 / 0.116 from video and the
camera's height alone, the engine's rooms kept (the recipe before: 0.115;
0.134 with a lidar row, 0.127 with a lidar row and another model's relative depth); [your robot's
data](docs/robot_data.md)).
`temporal_filter` cuts flicker 2.4–4.4× in ~3 ms a frame but not the error: averaging frames cannot
remove a bias they share ([node](docs/node.md#temporal-filter)).
The node's default backend is `auto`: on a 2-core CPU it picks OpenVINO (same depth as torch to
2 ppm) and answers a 30 Hz 320×240 camera at 29.9 Hz (p95 67 ms; the goal is 66), a 640×480 one at
18.3 Hz, or at 29.5 Hz with `output_scale:=0.5`; 640×480 inference runs at 8.9 Hz. More needs a
cheaper network than this AVX2 CPU gives (int8 is 1.06× here) ([benchmarks](docs/benchmarks.md)).
Details: [the model and its weights](docs/model.md#real-rooms), [experiment log](docs/experiments/README.md) (8–25)."""


def render(status_dir: Path = STATUS_DIR) -> str:
    """The block between the README's status markers, from the recorded rows."""
    recorded = {name: json.loads((status_dir / f"{name}.json").read_text()) for name in ROWS}
    lines = [HEAD.format(date=max(r["measured"] for r in recorded.values())), "",
             "| measured on | depth | occlusion boundaries | command |", "| --- | --- | --- | --- |"]
    for name, row in ROWS.items():
        lines.append("| " + " | ".join(row.cells(recorded[name]["values"])) + f" | `{row.command}` |")
    return "\n".join(lines + ["", TAIL])


def _finite(values: dict) -> None:
    bad = [k for k, v in values.items() if isinstance(v, float) and not math.isfinite(v)]
    if bad:
        raise ValueError(f"not finite: {', '.join(bad)}")


def record(name: str, source: Path, model: str = "shipped", status_dir: Path = STATUS_DIR) -> Path:
    """Copy row ``name``'s numbers from ``source`` (its command's output) into status_dir/name.json."""
    row = ROWS[name]
    values = row.pick(json.loads(source.read_text()), model)
    _finite(values)
    measured = datetime.date.fromtimestamp(source.stat().st_mtime).isoformat()
    shown = source.resolve().relative_to(REPO) if source.resolve().is_relative_to(REPO) else source
    entry = {"command": row.command, "source": str(shown)} | ({"model": model} if row.per_model else {})
    entry |= {"measured": measured, "values": values}
    status_dir.mkdir(parents=True, exist_ok=True)
    path = status_dir / f"{name}.json"
    path.write_text(json.dumps(entry, indent=1, ensure_ascii=False) + "\n")
    return path


def write_readme(readme: Path = README, status_dir: Path = STATUS_DIR) -> None:
    """Replace the README's status block with ``render``'s."""
    text = readme.read_text()
    if not BLOCK.search(text):
        raise ValueError(f"{readme} has no status markers")
    readme.write_text(BLOCK.sub(lambda m: m.group(1) + render(status_dir) + "\n" + m.group(2), text, count=1))


def run_command(name: str) -> None:
    """Run row ``name``'s command as the README prints it (localhost-only DDS, as every tool here)."""
    argv = shlex.split(ROWS[name].command)
    argv[0] = sys.executable if argv[0] == "python" else argv[0]
    subprocess.run([str(REPO / "scripts" / "in_loopback.sh"), *argv], cwd=REPO, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refresh", nargs="+", choices=sorted(ROWS), metavar="ROW",
                        help=f"run these rows' commands, record them, rewrite the README ({', '.join(ROWS)})")
    parser.add_argument("--record", choices=sorted(ROWS), metavar="ROW",
                        help="record this row from an output already written, rewrite the README")
    parser.add_argument("--from", dest="source", help="--record: the output file (default: where the command writes)")
    parser.add_argument("--model", default="shipped", help="real-frame rows: the weights' label in the report")
    args = parser.parse_args(argv)
    if args.source and not args.record:
        parser.error("--from goes with --record")
    names = args.refresh or ([args.record] if args.record else [])
    for name in args.refresh or []:
        run_command(name)
    try:
        for name in names:
            print(f"wrote {record(name, Path(args.source or REPO / ROWS[name].output), args.model)}")
    except (OSError, KeyError, StopIteration, ValueError) as error:
        print(f"readme_status: cannot record {name}: {type(error).__name__}: {error}", file=sys.stderr)
        return 2
    if names:
        write_readme()
    print(render())
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``make demo``: live replay of a bag through the real node, with a report.

``scripts/in_loopback.sh python -m scripts.demo --output build/demo [--bag BAG]``. Without
``--bag`` it renders a synthetic bag with ground truth (``training.data.synth``, written with
``modot_ros.bags.ground_truth``); that is why the demo is a repository script and not part of the
installed package. The node runs the embedded
default weights, or random weights with a loud warning while none are installed. Output:
summary.md/.json (frames in/out, rate, latency, drops), report.md/.html, panels/, plots/, ply/,
the recorded node outputs (recorded_bag/) and logs/.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Sequence

from modot_ros.bags.io import BagError

GENERATED = ("recorded_bag", "panels", "plots", "ply", "logs", "player_log.json", "metrics.json",
             "report.md", "report.html", "summary.md", "summary.json")


def synthetic_bag(folder: Path, frames: int, height: int, width: int) -> Path:
    """Render (or reuse, when made with the same settings) the demo's synthetic input bag."""
    bag, stamp = folder / "input_bag", folder / "input_bag.json"
    wanted = {"frames": frames, "height": height, "width": width}
    if bag.exists() and stamp.is_file() and json.loads(stamp.read_text()) == wanted:
        print(f"demo: reusing {bag}")
        return bag
    try:
        from training.data.synth import write_bag
    except ImportError as error:
        raise SystemExit(f"demo: the synthetic engine (training.data.synth) is not importable ({error}); run from "
                         "the repository root with its venv, or pass --bag") from None
    shutil.rmtree(bag, ignore_errors=True)
    print(f"demo: rendering {frames} synthetic frames at {width}x{height} into {bag} ...")
    write_bag(bag, frames, height, width, storage="mcap")
    stamp.write_text(json.dumps(wanted))
    return bag


def weight_params(checkpoint: str | None) -> list[str]:
    """Node parameters for the weights: a given file, the packaged default, or random + warning."""
    from modot_ros.checkpoint import CheckpointError
    from modot_ros.inference import weights_path

    if checkpoint:
        return [f"model_path:={Path(checkpoint).resolve()}"]
    try:
        weights_path()
        return []
    except CheckpointError as error:
        banner = "!" * 78
        print(f"{banner}\nWARNING: {error}; the node runs RANDOM weights.\n"
              f"Depth and boundaries below are meaningless; the demo only shows the pipeline.\n{banner}",
              file=sys.stderr)
    return ["random_weights:=true"]


def write_summary(summary: dict, folder: Path) -> str:
    """summary.md / summary.json: the numbers a user looks at first."""
    run = summary["run"]
    keys = ("frames_in", "frames_out", "drops", "drop_rate", "output_rate_hz", "latency_ms_p50", "latency_ms_p95",
            "rate", "wall_s")
    picked = {k: run.get(k) for k in keys} | {
        "abs_rel": summary.get("depth", {}).get("abs_rel"), "ob_ods_f": summary.get("boundary", {}).get("ods_f"),
        "weights": run.get("weights"), "panels": summary["figures"]["panels"], "ply": run.get("ply")}
    (folder / "summary.json").write_text(json.dumps(picked, indent=1))
    fmt = lambda v: f"{v:.4g}" if isinstance(v, float) else str(v)  # noqa: E731
    lines = ["# modot_ros demo", "", "| quantity | value |", "| --- | --- |"]
    lines += [f"| {k} | {', '.join(v) if isinstance(v, list) else fmt(v)} |" for k, v in picked.items()
              if k != "panels"]
    lines += ["", "Full report: [report.md](report.md)", ""] + [f"![{p}]({p})" for p in picked["panels"]]
    text = "\n".join(lines) + "\n"
    (folder / "summary.md").write_text(text)
    return text


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="modot-demo", description=__doc__.split("\n\n")[0])
    p.add_argument("--output", "-o", default="build/demo")
    p.add_argument("--bag", help="replay this bag instead of a synthetic one")
    p.add_argument("--frames", type=int, default=150, help="synthetic frames (30 Hz)")
    p.add_argument("--height", type=int, default=240)
    p.add_argument("--width", type=int, default=320)
    p.add_argument("--rate", type=float, default=0.1,
                   help="playback speed; 0.1 lets a 2-core CPU answer a good share of the frames")
    p.add_argument("--checkpoint", help="weights for the node (default: the packaged ones)")
    p.add_argument("--ob-thresholds", type=int, default=19, help="BSDS thresholds (protocol: 99; fewer is faster)")
    p.add_argument("--ob-stride", type=int, default=5, help="score OBs on every Nth answered frame")
    p.add_argument("-p", "--param", action="append", default=[], help="extra node parameter name:=value")
    args = p.parse_args(argv)
    from modot_ros.ros.tools.replay import replay_bag  # after argparse: --help stays fast

    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    for name in GENERATED:  # results of an earlier run; the input bag is kept for reuse
        target = output / name
        shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
    start = time.monotonic()
    try:
        bag = Path(args.bag) if args.bag else synthetic_bag(output, args.frames, args.height, args.width)
        weights = weight_params(args.checkpoint)
        # history depth 10: with the node's default of 1, samples that need a DDS resend are
        # overwritten before the recorder gets them (lost depth/image, camera_info samples seen here)
        params = [*weights, *args.param]
        summary = replay_bag(bag, output, rate=args.rate, params=params, ply_frames=1,
                             ob_thresholds=args.ob_thresholds, ob_stride=args.ob_stride,
                             run_info={"weights": "random" if weights == ["random_weights:=true"] else
                                       (args.checkpoint or "packaged default")})
    except (BagError, RuntimeError, TimeoutError, ValueError) as error:
        print(f"demo: error: {error} (logs in {output / 'logs'})", file=sys.stderr)
        return 2
    print(write_summary(summary, output))
    print(f"demo: done in {time.monotonic() - start:.0f} s; open {output / 'report.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Export a trained run: runtime checkpoint (optionally fp16 storage) and ONNX with a parity check.

    python -m training.export --checkpoint build/runs/X/final.pt --runtime out.pt [--half]
    python -m training.export --checkpoint out.pt --onnx out.onnx

The runtime checkpoint is what ``DepthBoundaryEstimator.from_checkpoint`` loads. The ONNX graph
takes (B, 3, H, W) RGB in [0, 1] at the network input size and returns the activated canonical
depth parameters and/or OB logits (``NetworkOutput`` minus the training-only side outputs);
onnxruntime's outputs are compared with torch's before the export is reported as good. The
runtime exports the same graph itself (``backend`` onnxruntime/tensorrt), so this file is for
shipping a graph to other tools.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

import torch

from modot_ros.backends.onnx_graph import ONNX_OPSET, export_graph, parity_errors
from modot_ros.checkpoint import build_model, load_checkpoint, save_checkpoint
from modot_ros.model.network import DepthBoundaryNet
from training.config import config_from_dict
from training.trainer_state import load_state


def export_runtime(source: str | Path, target: str | Path, *, half: bool = True,
                   metrics: dict | None = None, extra_training: dict | None = None) -> Path:
    """Re-save a run's checkpoint for shipping (fp16 storage when ``half``); atomic write."""
    model, ckpt = build_model(source)
    target = Path(target)
    tmp = target.with_name(f".{target.name}.tmp")
    save_checkpoint(tmp, model, ckpt.model_config, half=half, data=ckpt.data,
                    training_config=ckpt.training_config | (extra_training or {}),
                    metrics=ckpt.metrics | (metrics or {}))
    os.replace(tmp, target)
    return target


def provenance(command: str | None = None) -> dict[str, str | int]:
    """Command, hardware and software of the run, for the checkpoint's record."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next((line.split(":", 1)[1].strip() for line in handle
                        if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {"command": command or "", "cpu": cpu, "cpu_count": os.cpu_count() or 0,
            "torch": str(torch.__version__), "python": platform.python_version()}


def export_from_run(run: str | Path, target: str | Path, *, half: bool = True) -> Path:
    """Runtime checkpoint from a run's resumable ``last.pt`` (e.g. while it is still training)."""
    state = load_state(Path(run))
    if state is None:
        raise FileNotFoundError(f"{run} has no last.pt yet")
    config = config_from_dict(state["config"])
    model = DepthBoundaryNet(config.model, pretrained=False)
    model.load_state_dict(state["model"])
    target = Path(target)
    tmp = target.with_name(f".{target.name}.tmp")
    stats = {"steps": state["step"], "train_seconds": round(state["elapsed_s"], 1),
             "partial": True}
    save_checkpoint(tmp, model, config.model, half=half,
                    training_config=config.to_dict() | {"run_stats": stats})
    os.replace(tmp, target)
    return target


def export_onnx(checkpoint: str | Path, target: str | Path, opset: int = ONNX_OPSET,
                atol: float = 1e-3) -> dict[str, float]:
    """Write ONNX and check onnxruntime against torch; returns max errors per output.

    The graph is the one the runtime exports and caches (``modot_ros.backends.onnx_graph``,
    dynamic batch); raises ``ExportError`` when an error exceeds ``atol``.
    """
    model, ckpt = build_model(checkpoint)
    size = (ckpt.model_config.input_width, ckpt.model_config.input_height)
    export_graph(model, target, size, opset)
    return parity_errors(model, target, size, atol)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Export a trained checkpoint.")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", help="runtime checkpoint (final.pt)")
    source.add_argument("--from-run", help="run directory: export its last.pt (partial run)")
    parser.add_argument("--runtime", help="write a runtime checkpoint here")
    parser.add_argument("--half", action="store_true", help="fp16 weight storage")
    parser.add_argument("--onnx", help="write an ONNX model here and check onnxruntime parity")
    parser.add_argument("--test-metrics", help="metrics.json of training.evaluate to store as 'test'")
    parser.add_argument("--command", help="training command line to record in the checkpoint")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.from_run and not args.runtime:
        parser.error("--from-run needs --runtime (where to write the checkpoint)")
    if args.from_run:
        path = export_from_run(args.from_run, args.runtime, half=args.half)
        print(f"runtime checkpoint: {path} ({path.stat().st_size / 1e6:.1f} MB)")
    elif args.runtime:
        load_checkpoint(args.checkpoint)  # clear error for a wrong file before any work
        metrics = {"test": json.loads(Path(args.test_metrics).read_text())} if args.test_metrics else {}
        path = export_runtime(args.checkpoint, args.runtime, half=args.half, metrics=metrics,
                              extra_training={"provenance": provenance(args.command)})
        print(f"runtime checkpoint: {path} ({path.stat().st_size / 1e6:.1f} MB)")
    if args.onnx:
        errors = export_onnx(args.runtime or args.checkpoint, args.onnx)
        print(f"onnx: {args.onnx}; max |onnxruntime - torch|: {errors}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

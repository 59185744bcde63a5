"""Post-training int8 of the shipped network: why a QDQ export is not faster, and what it costs in accuracy.

    .venv/bin/python -m benchmarks.int8_study [--frames 32] [--test 32] [--threads 1] [--out build/int8_study]

The shipped weights are exported to ONNX at 320x240 (``onnx_graph.export_graph``) and quantised
statically by onnxruntime (QDQ, per-channel int8 weights) in three variants, calibrated on engine
validation frames plus the real dev frames' *images* (no depth is used):

* ``naive``: every op, asymmetric uint8 activations (onnxruntime's defaults, the first try of issue 30);
* ``symmetric``: convolutions only, symmetric int8 activations (no zero-point subtractions), the
  depth and OB heads left in float;
* ``percentile``: ``symmetric`` with the activation ranges at the 99.99th percentile, not the extremes.

Each graph runs under OpenVINO (CPU plugin) and onnxruntime side by side in this process, on the
engine's test frames: scale-aligned AbsRel of the dominant-mode depth at the network's output grid
against the ground truth (the accuracy gate's measure, before the camera-size read-outs), and the
median engine time, interleaved. OpenVINO's per-layer counters say where the time goes (the
``layers`` table). Writes ``int8_study.json`` and prints the tables.
"""
from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from modot_ros.backends.onnx_graph import INPUT_NAME, export_graph
from modot_ros.backends.onnxruntime_forward import session_options
from modot_ros.checkpoint import build_model, default_weights_path
from modot_ros.evaluation.depth_errors import depth_metrics, gt_valid_mask
from modot_ros.inference import to_network_input

HEADS = ("/model/depth_head/", "/model/boundary_head/")
REAL_DEV = ("../shared/data/real_indoor_dev", "../shared/data/real_indoor_dev_realsense",
            "../shared/data/real_indoor_dev_tum")
SIZE = (320, 240)


def engine_frames(split: str, n: int, first: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(network inputs (1, 3, h, w) float, GT depths) of ``n`` engine frames of ``split``."""
    from training.evaluate import split_frames

    frames = split_frames(split, first + n)[first:]
    inputs = [to_network_input(torch.from_numpy(np.ascontiguousarray(f["rgb"]))[None], SIZE[1], SIZE[0])
              .contiguous().numpy() for f in frames]
    return inputs, [np.asarray(f["depth"], np.float32) for f in frames]


def real_images() -> list[np.ndarray]:
    """The real dev frames' images as network inputs (their depth is not used)."""
    from training.data.recording import read_recording

    images = []
    for folder in REAL_DEV:
        if Path(folder).is_dir():
            for frame in read_recording(folder, "depth", 0).frames:
                rgb = torch.from_numpy(np.ascontiguousarray(frame["rgb"]))[None]
                images.append(to_network_input(rgb, SIZE[1], SIZE[0]).contiguous().numpy())
    return images


def quantise(source: Path, target: Path, variant: str, calibration: list[np.ndarray]) -> Path:
    """``source`` ONNX as an int8 QDQ graph of ``variant``, calibrated on ``calibration``."""
    import onnx
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.inputs = iter(calibration)

        def get_next(self):
            x = next(self.inputs, None)
            return None if x is None else {INPUT_NAME: x}

    convs = [n.name for n in onnx.load(str(source)).graph.node if n.op_type == "Conv"]
    if variant == "naive":
        options = dict(activation_type=QuantType.QUInt8, extra_options={"WeightSymmetric": True})
    else:
        options = dict(activation_type=QuantType.QInt8, op_types_to_quantize=["Conv"],
                       nodes_to_exclude=[c for c in convs if c.startswith(HEADS)],
                       extra_options={"ActivationSymmetric": True, "WeightSymmetric": True,
                                      "CalibPercentile": 99.99})
        if variant == "percentile":
            options["calibrate_method"] = CalibrationMethod.Percentile
    quantize_static(str(source), str(target), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    weight_type=QuantType.QInt8, **options)
    return target


def openvino_runner(graph: Path, threads: int, perf: bool = False):
    import openvino

    core = openvino.Core()
    properties = {"INFERENCE_NUM_THREADS": threads, "PERF_COUNT": perf}
    request = core.compile_model(core.read_model(str(graph)), "CPU", properties).create_infer_request()
    return lambda x: list(request.infer({INPUT_NAME: x}).values()), request


def onnxruntime_runner(graph: Path, threads: int):
    import onnxruntime

    session = onnxruntime.InferenceSession(str(graph), session_options(threads), providers=["CPUExecutionProvider"])
    return lambda x: session.run(None, {INPUT_NAME: x})


def aligned_abs_rel(params: np.ndarray, gt: np.ndarray) -> tuple[float, float]:
    """(median-aligned AbsRel of the dominant mode at the output grid, share of GT pixels with no depth).

    The project's scorer (``depth_metrics``) on the GT subsampled onto the output grid; a pixel
    whose inverse depth is not > 0 (a quantised head can output 0) has no depth and is scored as
    the scorer scores a missing prediction; its share is counted.
    """
    mu = np.where(params[0, 4] >= 0.5, params[0, 0], params[0, 1])
    step = gt.shape[0] // mu.shape[0]
    gt = gt[step // 2::step, step // 2::step]
    with np.errstate(divide="ignore"):
        depth = np.where(mu > 0, 1.0 / mu, np.nan)
    known = gt_valid_mask(gt)
    lost = float(np.mean(~np.isfinite(depth[known]))) if known.any() else 0.0
    return depth_metrics(depth, gt, align="median")["abs_rel"], lost


def layer_times(graph: Path, threads: int, probe: np.ndarray) -> dict[str, float]:
    """OpenVINO's per-layer time (ms) summed by (layer type, kernel), the ten largest."""
    run, request = openvino_runner(graph, threads, perf=True)
    for _ in range(3):
        run(probe)
    kinds = collections.Counter()
    for layer in request.profiling_info:
        kinds[f"{layer.node_type} ({layer.exec_type})"] += layer.real_time.total_seconds() * 1e3
    return {k: round(v, 2) for k, v in kinds.most_common(10)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=32, help="engine validation frames for calibration")
    parser.add_argument("--test", type=int, default=32, help="engine test frames scored")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=12)
    parser.add_argument("--out", default="build/int8_study")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model, _ = build_model(default_weights_path())
    graphs = {"fp32": export_graph(model.eval(), out / "fp32.onnx", SIZE)}
    calibration = engine_frames("val", args.frames)[0] + real_images()
    for variant in ("naive", "symmetric", "percentile"):
        print(f"quantising: {variant} ({len(calibration)} calibration images)", file=sys.stderr)
        graphs[variant] = quantise(graphs["fp32"], out / f"int8_{variant}.onnx", variant, calibration)
    inputs, depths = engine_frames("test", args.test)
    runners = {}
    for name, graph in graphs.items():
        runners[f"openvino {name}"] = openvino_runner(graph, args.threads)[0]
        runners[f"onnxruntime {name}"] = onnxruntime_runner(graph, args.threads)
    times = {name: [] for name in runners}
    for i in range(args.repeat):  # interleaved: a slower phase of the machine hits every runner alike
        for name, run in runners.items():
            start = time.perf_counter()
            run(inputs[i % len(inputs)])
            times[name].append((time.perf_counter() - start) * 1e3)
    rows = []
    for name, run in runners.items():
        errors, lost = zip(*(aligned_abs_rel(run(x)[0], gt) for x, gt in zip(inputs, depths)))
        rows.append({"graph": name, "aligned_abs_rel": float(np.mean(errors)), "no_depth": float(np.mean(lost)),
                     "ms": float(np.median(times[name]))})
    layers = {name: layer_times(graph, args.threads, inputs[0]) for name, graph in graphs.items()}
    (out / "int8_study.json").write_text(json.dumps({"rows": rows, "layers": layers, "threads": args.threads,
                                                     "calibration_images": len(calibration)}, indent=1))
    print(f"| graph | aligned AbsRel ({args.test} engine test frames) | pixels without depth | "
          f"engine ms ({args.threads} thread) |")
    print("|---|---|---|---|")
    for row in rows:
        print(f"| {row['graph']} | {row['aligned_abs_rel']:.4f} | {100 * row['no_depth']:.1f} % | {row['ms']:.1f} |")
    for name, kinds in layers.items():
        print(f"\nOpenVINO layers, {name}: " + "; ".join(f"{k} {v} ms" for k, v in kinds.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

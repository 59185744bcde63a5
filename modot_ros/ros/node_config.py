"""Every parameter of the ``modot_node``, in one place (no rclpy here).

``NodeConfig`` is the single source: the node declares its ROS parameters from it (descriptions,
ranges, read-only flags), ``config/modot.yaml`` and the README table are generated from it and
checked against it by a test. ``python -m modot_ros.ros.node_config --markdown`` prints the README
table; ``--yaml`` prints the commented parameter file.
"""
from __future__ import annotations

import argparse
import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from modot_ros.backends import BACKENDS
from modot_ros.config import config_field as _f
from modot_ros.config import depth_range_problem
from modot_ros.pipeline.options import output_field
from modot_ros.scale.settings import ScaleSettings, scale_field
from modot_ros.temporal.settings import temporal_field

QOS_PRESETS = ("SENSOR_DATA", "DEFAULT", "SYSTEM_DEFAULT")
PRECISIONS = ("auto", "fp32", "fp16")
IMAGE_TRANSPORTS = ("raw", "compressed")
DEVICE_PATTERN = re.compile(r"^(auto|cpu|cuda(:\d+)?|gpu(\.\d+)?|npu)$")  # gpu, npu: OpenVINO's Intel devices
# RViz cannot place a message whose frame_id is empty: outputs get this one instead.
DEFAULT_FRAME_ID = "camera_optical_frame"


@dataclass(frozen=True)
class NodeConfig:
    """Parameters of the modot_node (ROS parameter name = field name)."""

    # model
    model_path: str = _f("", "Checkpoint file; empty = the packaged default weights. Set on a running "
                         "node, it loads that file with the same device, backend and precision and swaps "
                         "it in between frames; a file that cannot be loaded is refused and the running "
                         "model kept.", group="model")
    random_weights: bool = _f(False, "Untrained network instead of weights (tests and benchmarks only).",
                              read_only=True, group="model")
    device: str = _f("auto", "Torch device: auto (cuda if present), cpu, cuda or cuda:N; gpu, gpu.N "
                     "or npu: an Intel GPU/NPU through backend openvino (the rest on the CPU).",
                     read_only=True, group="model")
    precision: str = _f("auto", "auto (fp16 on CUDA, fp32 on CPU), fp32 or fp16 (CUDA only).",
                        choices=PRECISIONS, read_only=True, group="model")
    input_width: int = _f(0, "Network input width, px (multiple of 16); 0 = the model's own.",
                          range=(0, 4096), read_only=True, group="model")
    input_height: int = _f(0, "Network input height, px (multiple of 16); 0 = the model's own.",
                           range=(0, 4096), read_only=True, group="model")
    backend: str = _f("auto", "Network forward: auto (the fastest that starts, timed on a few frames at "
                      "configure, logged and on /diagnostics; CPU: onnxruntime, openvino, torch; CUDA: tensorrt, "
                      "torch), torch, onnxruntime (CPU; CUDA provider with device cuda), openvino (Intel CPU, or "
                      "device gpu/npu) or tensorrt (onnxruntime TensorRT provider, fp16 unless precision fp32). "
                      "docs/benchmarks.md: Backends.",
                      choices=BACKENDS, read_only=True, group="model")
    threads: int = _f(0, "CPU threads of the network forward (torch intra-op, onnxruntime "
                      "intra_op_num_threads, OpenVINO INFERENCE_NUM_THREADS); 0 = the library default.",
                      range=(0, 256), read_only=True, group="model")
    pipeline_threads: int = _f(2, "Worker threads per frame: with 2, when a newer frame is already waiting, the "
                               "read-outs, cloud and publishing go to a second thread while the next frame's "
                               "network runs (a one-slot hand-over: the freshest frame wins, drops counted in "
                               "/diagnostics); otherwise, and with 1, one thread does both.",
                               range=(1, 2), read_only=True, group="model")
    onnx_cache: str = _f("", "Folder of the exported ONNX graphs; empty = $MODOT_ROS_CACHE, else "
                         "$XDG_CACHE_HOME/modot_ros (~/.cache/modot_ros).", read_only=True, group="model")
    # outputs
    min_depth: float = output_field("min_depth")
    max_depth: float = output_field("max_depth")
    output_scale: float = output_field("output_scale")
    edge_mode: str = output_field("edge_mode")
    edge_points: str = output_field("edge_points")
    ambiguity_threshold: float = output_field("ambiguity_threshold")
    occlusion_threshold: float = output_field("occlusion_threshold")
    snap_window: int = output_field("snap_window")
    invalid_depth: float = output_field("invalid_depth")
    min_confidence: float = output_field("min_confidence")
    veiling_threshold: float = output_field("veiling_threshold")
    publish_points: bool = output_field("publish_points")
    organized: bool = output_field("organized")
    cloud_decimation: int = output_field("cloud_decimation")
    colorize: bool = output_field("colorize")
    cloud_confidence: bool = output_field("cloud_confidence")
    publish_depth_mm: bool = output_field("publish_depth_mm")
    publish_mixture: bool = output_field("publish_mixture")
    frame_id: str = _f("", "Output frame_id; empty = the input image's frame_id, or "
                       f"'{DEFAULT_FRAME_ID}' (warned once) when that is empty too.")
    # input and synchronisation
    approx_sync: bool = _f(False, "Pair image and camera_info by nearest stamp within "
                           "approx_sync_slop instead of equal stamps.", read_only=True)
    approx_sync_slop: float = _f(0.02, "Largest stamp difference (s) for approx_sync.", range=(0.0, 1.0))
    camera_info_cache: bool = _f(False, "Use the latest camera_info whatever its stamp (for bags "
                                 "whose info is not time-synchronised).", read_only=True)
    max_input_pixels: int = _f(2560 * 1600, "Reject larger images (width * height); the default "
                               "keeps rgb8 input and 32FC1 depth output within the 16 MiB messages "
                               "of config/fastdds_shm.xml.", range=(1, 100_000_000))
    image_transport: str = _f("raw", "Image input as image_transport names it: raw (sensor_msgs/Image on "
                              "'image') or compressed (sensor_msgs/CompressedImage jpeg/png on 'image/compressed', "
                              "decoded on the worker thread).", choices=IMAGE_TRANSPORTS, read_only=True)
    input_qos: str = _f("SENSOR_DATA", "QoS preset of the subscriptions.", choices=QOS_PRESETS,
                        read_only=True)
    input_qos_depth: int = _f(5, "History depth of the subscriptions.", range=(1, 100), read_only=True)
    output_qos: str = _f("DEFAULT", "QoS preset of the publishers (DEFAULT = reliable, what RViz "
                         "subscribes with).", choices=QOS_PRESETS, read_only=True)
    output_qos_depth: int = _f(5, "History depth of the publishers (reliable readers that fall behind lose "
                               "samples at 1).", range=(1, 100), read_only=True)
    # runtime
    lazy: bool = _f(True, "Skip inference while no output topic has a subscriber, and build only the messages of the "
                    "topics that have one.")
    use_lifecycle: bool = _f(False, "Managed lifecycle node (configure loads the model, activate "
                             "subscribes); false = configure and activate at start.", read_only=True)
    diagnostics_period: float = _f(1.0, "Seconds between /diagnostics messages.", range=(0.1, 60.0),
                                   read_only=True)
    expected_rate: float = _f(0.0, "Expected output rate (Hz) for a diagnostics warning; 0 = unchecked.",
                              range=(0.0, 1000.0))
    debug_delay_ms: int = _f(0, "Extra delay per frame (ms) to emulate a slow model (tests).",
                             range=(0, 10_000))
    # metric scale (modot_ros.scale.settings; docs/metric_scale.md)
    scale_source: str = scale_field("scale_source")
    camera_height: float = scale_field("camera_height")
    camera_pitch: float = scale_field("camera_pitch")
    ground_tolerance: float = scale_field("ground_tolerance")
    laser_extrinsic: str = scale_field("laser_extrinsic")
    range_pixel_u: float = scale_field("range_pixel_u")
    range_pixel_v: float = scale_field("range_pixel_v")
    range_offset: str = scale_field("range_offset")
    scale_fit_shift: bool = scale_field("scale_fit_shift")
    scale_min_inliers: int = scale_field("scale_min_inliers")
    scale_smoothing: float = scale_field("scale_smoothing")
    scale_outlier: float = scale_field("scale_outlier")
    scale_hold: float = scale_field("scale_hold")
    scale_max_age: float = scale_field("scale_max_age")
    scale_poor_confidence: float = scale_field("scale_poor_confidence")
    # temporal fusion (modot_ros.temporal.settings; docs/node.md: Temporal filter)
    temporal_filter: str = temporal_field("temporal_filter")
    temporal_gate: float = temporal_field("temporal_gate")
    temporal_process_noise: float = temporal_field("temporal_process_noise")
    temporal_boundary: float = temporal_field("temporal_boundary")
    temporal_max_translation: float = temporal_field("temporal_max_translation")
    temporal_max_rotation: float = temporal_field("temporal_max_rotation")
    temporal_fixed_frame: str = temporal_field("temporal_fixed_frame")

    def validate(self) -> list[str]:
        """Reasons this configuration is not allowed (empty when it is fine)."""
        reasons = [r for f in dataclasses.fields(self) if (r := check_value(f.name, getattr(self, f.name)))]
        if problem := depth_range_problem(self.min_depth, self.max_depth):
            reasons.append(problem)
        if self.snap_window % 2 == 0:
            reasons.append(f"snap_window={self.snap_window} must be odd")
        for name in ("input_width", "input_height"):
            if getattr(self, name) % 16:
                reasons.append(f"{name}={getattr(self, name)} must be a multiple of 16 (or 0)")
        if (self.input_width == 0) != (self.input_height == 0):
            reasons.append("set both input_width and input_height, or neither (0)")
        if not DEVICE_PATTERN.match(self.device):
            reasons.append(f"device={self.device!r}; allowed: auto, cpu, cuda, cuda:N, gpu, gpu.N, npu")
        return reasons + ScaleSettings.from_config(self).problems()

    def replace(self, **changes: Any) -> "NodeConfig":
        return dataclasses.replace(self, **changes)


FIELDS = {f.name: f for f in dataclasses.fields(NodeConfig)}


def type_name(name: str) -> str:
    """'bool' | 'int' | 'double' | 'string' (the ROS parameter type)."""
    return {"bool": "bool", "int": "int", "float": "double", "str": "string"}[FIELDS[name].type]


def check_value(name: str, value: Any) -> str | None:
    """Why ``value`` is not allowed for parameter ``name`` (None when it is)."""
    if name not in FIELDS:
        return f"unknown parameter {name!r}"
    meta = FIELDS[name].metadata
    kind = FIELDS[name].type
    python = {"bool": bool, "int": int, "float": (int, float), "str": str}[kind]
    if not isinstance(value, python) or (kind != "bool" and isinstance(value, bool)):
        return f"{name} must be a {type_name(name)}, got {value!r}"
    if meta["choices"] and value not in meta["choices"]:
        return f"{name}={value!r}; allowed: {', '.join(meta['choices'])}"
    low, high = meta["range"] or (None, None)
    if low is not None and not low <= value <= high:
        return f"{name}={value} is outside [{low}, {high}]"
    return None


def _default_text(value: Any) -> str:
    return "`''`" if value == "" else f"`{str(value).lower() if isinstance(value, bool) else value}`"


def markdown_table() -> str:
    """The README parameter table (name, type, default, allowed, description)."""
    rows = ["| parameter | type | default | allowed | description |", "| --- | --- | --- | --- | --- |"]
    for name, f in FIELDS.items():
        meta = f.metadata
        allowed = " \\| ".join(meta["choices"]) if meta["choices"] else \
            (f"[{meta['range'][0]}, {meta['range'][1]}]" if meta["range"] else "")
        help = meta["help"] + (" Read-only (set at start)." if meta["read_only"] else "")
        rows.append(f"| `{name}` | {type_name(name)} | {_default_text(f.default)} | {allowed} | {help} |")
    return "\n".join(rows)


def yaml_text(node_name: str = "/**") -> str:
    """A commented parameter file holding every default."""
    lines = [f"{node_name}:", "  ros__parameters:"]
    for name, f in FIELDS.items():
        value = f.default
        shown = "''" if value == "" else (str(value).lower() if isinstance(value, bool) else repr(value))
        lines += [f"    # {f.metadata['help']}", f"    {name}: {shown}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print the README parameter table")
    parser.add_argument("--yaml", action="store_true", help="print config/modot.yaml")
    args = parser.parse_args(argv)
    print(yaml_text() if args.yaml else markdown_table())


if __name__ == "__main__":
    main()

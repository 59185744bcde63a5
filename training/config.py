"""Typed, frozen training configuration; YAML keys are the dataclass fields.

``TrainConfig`` groups one frozen dataclass per concern (model, data, optimisation, loss,
schedule, logging). ``load_config(path)`` reads a YAML file whose top-level keys are those
groups; unknown keys are an error naming the allowed ones. Every resolved config is written
next to the run (``config.yaml``) and stored in each checkpoint.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from modot_ros.config import ConfigError, ModelConfig
from modot_ros.config import config_field as _f
from training.losses import LossConfig
from training.data.ob_from_depth import DepthEdgeRule
from training.losses.photometric import PhotometricConfig

SUPERVISIONS = ("supervised", "self_supervised")
SOURCE_KINDS = ("synthetic", "folder", "bag", "nyu_mat")
OB_MODES = ("auto", "labels", "from_depth", "none")
POSE_MODES = ("auto", "tf", "pose_net")
_BAG_KEYS = ("image", "camera_info", "depth", "boundary")
# keys of self-supervised video bags only; any non-default value elsewhere would be ignored
_VIDEO_KEYS = ("poses", "odom_frame", "tf_tolerance_s", "min_motion_m", "camera_height_m")


@dataclass(frozen=True)
class SourceConfig:
    """One entry of ``data.sources``: where frames come from and their share of every batch."""

    kind: str = _f("synthetic", "synthetic: the engine (data.train_cache, or data.source=render); "
                                "folder: rgb/ + depth/ + intrinsics.yaml; bag: rosbag2 (mcap or "
                                "sqlite3); nyu_mat: NYU Depth v2 nyu_depth_v2_labeled.mat.", SOURCE_KINDS)
    path: str = _f("", "Folder, bag or .mat file (synthetic: a frame cache, default data.train_cache).")
    weight: float = _f(1.0, "Share of every batch (normalised over the sources).")
    ob: str = _f("auto", "OB supervision: labels (the source's own; required), from_depth (near side "
                         "of depth discontinuities, training/data/ob_from_depth.py), none (depth only: "
                         "the OB loss ignores these samples), auto (labels when present, else "
                         "from_depth).", OB_MODES)
    stride: int = _f(1, "Use every N-th frame (thins 30 Hz video); self-supervised: the triplet "
                        "gap k of (t-k, t, t+k).")
    max_frames: int = _f(0, "Use at most N frames after the stride (0: all).")
    image: str = _f("", "bag: colour image topic (empty: auto-detected as modot-eval-bag does).")
    camera_info: str = _f("", "bag: CameraInfo topic (empty: the image's sibling or the only one).")
    depth: str = _f("", "bag: depth topic registered to the colour image, 32FC1 m or 16UC1 mm "
                        "(empty: auto-detected).")
    boundary: str = _f("", "bag: OB mask topic, mono8 (empty: auto-detected by name).")
    poses: str = _f("auto", "bag, self-supervised: camera motion from tf (/tf + /tf_static, "
                            "metric), pose_net (learnt jointly; scale from camera_height_m, else "
                            "from the depth network only) or auto (tf when the bag has any /tf, "
                            "else pose_net).", POSE_MODES)
    odom_frame: str = _f("", "bag, poses=tf: fixed frame the camera moves in (empty: the root "
                             "of the camera frame's tf tree, e.g. odom or map).")
    tf_tolerance_s: float = _f(0.05, "bag, poses=tf: how far an image stamp may lie before the "
                                     "first or after the last /tf sample (nearest is used).")
    min_motion_m: float = _f(0.01, "bag, poses=tf: triplets whose camera moved less than this "
                                   "to both sources are left out (a robot standing still).")
    camera_height_m: float = _f(0.0, "bag, self-supervised: height of the camera's optical centre "
                                     "above a flat ground, m (0: off). Gives video without /tf a "
                                     "metric scale: the ground plane fitted to the predicted depth "
                                     "is pulled to this height (loss.camera_height_weight); frames "
                                     "without a plausible ground are skipped and counted.")
    edge_jump: float = _f(DepthEdgeRule.jump, "ob=from_depth: relative depth jump of an edge.")
    edge_min_jump_m: float = _f(DepthEdgeRule.min_jump_m, "ob=from_depth: absolute jump, m.")
    edge_hole_margin: int = _f(DepthEdgeRule.hole_margin, "ob=from_depth: px around invalid "
                                                          "depth labelled unknown.")
    edge_min_component: int = _f(DepthEdgeRule.min_component, "ob=from_depth: smaller edge "
                                                              "pieces are unknown (speckle).")

    def __post_init__(self) -> None:
        _check_choices(self)
        where = f"data.sources entry kind={self.kind}"
        if self.weight <= 0 or self.stride < 1 or self.max_frames < 0:
            raise ConfigError(f"{where}: weight must be > 0, stride >= 1, max_frames >= 0")
        if self.kind != "synthetic" and not self.path:
            raise ConfigError(f"{where} needs a path")
        if self.kind != "bag" and any(getattr(self, k) for k in _BAG_KEYS):
            raise ConfigError(f"{where}: {', '.join(_BAG_KEYS)} are bag keys")
        if self.kind != "bag" and (video := self.video_keys_set()):
            raise ConfigError(f"{where}: {', '.join(video)} apply to self-supervised bag sources only")
        if self.tf_tolerance_s < 0 or self.min_motion_m < 0 or self.camera_height_m < 0:
            raise ConfigError(f"{where}: tf_tolerance_s, min_motion_m and camera_height_m must be >= 0")
        if self.kind == "synthetic" and self.ob in ("from_depth", "none"):
            raise ConfigError(f"{where}: the engine's exact OB labels are always used")

    def video_keys_set(self) -> list[str]:
        """The self-supervised video keys this entry sets to other than their defaults."""
        defaults = {f.name: f.default for f in dataclasses.fields(self)}
        return [k for k in _VIDEO_KEYS if getattr(self, k) != defaults[k]]

    @property
    def edge_rule(self) -> DepthEdgeRule:
        return DepthEdgeRule(self.edge_jump, self.edge_min_jump_m, self.edge_hole_margin,
                             self.edge_min_component)


@dataclass(frozen=True)
class DataConfig:
    """Where frames come from and how batches are cut from them."""

    source: str = _f("cache", "cache: read train_cache (rendered once); render: render every "
                              "batch on the fly on render_device (GPU machines).",
                     ("cache", "render"))
    train_cache: str = _f("build/cache/train_240x320.pt", "Training frame cache "
                          "(python -m training.data.frames builds it).")
    render_scenes: int = _f(1_000_000, "source=render: number of distinct train-split scenes.")
    render_size: tuple[int, ...] = _f((240, 320), "source=render: rendered frame height, width.")
    render_device: str = _f("auto", "source=render: device the frames are rendered on.")
    camera_profiles: tuple[str, ...] = _f(("indoor_robot", "handheld", "vehicle"),
                                          "source=render: camera deployment profiles "
                                          "(training/data/synth/profiles.py).")
    room_style: str = _f("classic", "source=render: room style (training/data/synth/sample.py); a "
                                    "cache records the style it was rendered with.",
                         ("classic", "furnished"))
    val_cache: str = _f("build/cache/val_240x320.pt", "Validation frame cache (val split).")
    crop_height: int = _f(128, "Random-crop height, px (crops keep the focal length, resizes "
                               "would not; multiple of 16).")
    crop_width: int = _f(160, "Random-crop width, px (multiple of 16).")
    flip: bool = _f(True, "Random horizontal flips (poses are mirrored too).")
    batch_size: int = _f(8, "Images per step and process.")
    workers: int = _f(0, "DataLoader worker processes (0: load in the training process).")
    val_images: int = _f(16, "Validation images (full frames) per validation run.")
    sources: tuple[SourceConfig, ...] = _f((), "Training sources mixed per batch by weight "
                                               "(list of SourceConfig); empty: the engine alone, "
                                               "as source/train_cache say.")


@dataclass(frozen=True)
class OptimConfig:
    """Adam with per-step polynomial decay (modot.md §3.1)."""

    lr: float = _f(3e-4, "Initial learning rate.")
    lr_end_ratio: float = _f(0.1, "Final learning rate as a fraction of lr.")
    poly_power: float = _f(0.9, "Exponent of the polynomial decay.")
    weight_decay: float = _f(0.0, "AdamW weight decay (0: plain Adam).")
    grad_clip: float = _f(100.0, "Gradient-norm clip (<= 0: off).")
    amp: bool = _f(True, "fp16 autocast + GradScaler on CUDA (ignored on CPU).")
    encoder_lr_scale: float = _f(1.0, "The ImageNet encoder's LR as a fraction of the scheduled LR "
                                      "(0: frozen for the whole run); keeps the pretrained features "
                                      "(training/encoder_preservation.py).")
    encoder_frozen_steps: int = _f(0, "Encoder frozen (no gradients, BatchNorm statistics kept) "
                                      "until this step: decoder and heads train first (LP-FT). "
                                      "Counted like schedule.max_steps: a run from --init continues "
                                      "its checkpoint's step count.")
    start_decay: float = _f(0.0, "Decoupled pull toward the --init weights (L2-SP) against forgetting: "
                                 "each step moves every parameter lr x this of the way back "
                                 "(0: off; training/start_anchor.py).")
    start_decay_depth: float = _f(-1.0, "The pull on the depth decoder and depth head alone (-1: start_decay's). "
                                        "Depth and the occlusion boundaries forget separately (experiment log "
                                        "22): the depth side may move more while the encoder and the boundary "
                                        "side stay near their start.")
    freeze_norm_stats: bool = _f(False, "Every BatchNorm layer normalises with its running statistics and "
                                        "keeps them (affine weights still train): a fine-tune's small, "
                                        "mixed batches do not re-estimate them (training/encoder_preservation.py).")

    def __post_init__(self) -> None:
        if not self.encoder_lr_scale >= 0 or self.encoder_frozen_steps < 0:  # NaN fails >= too
            raise ConfigError(f"optim.encoder_lr_scale={self.encoder_lr_scale} and "
                              f"optim.encoder_frozen_steps={self.encoder_frozen_steps} must be >= 0")
        if not self.start_decay >= 0 or not (self.start_decay_depth >= 0 or self.start_decay_depth == -1):
            raise ConfigError(f"optim.start_decay={self.start_decay} must be >= 0 and optim.start_decay_depth="
                              f"{self.start_decay_depth} >= 0 or -1 (start_decay's)")

    @property
    def depth_pull(self) -> float:
        """The pull on the depth decoder and head (``start_decay_depth``, or ``start_decay`` when -1)."""
        return self.start_decay if self.start_decay_depth == -1 else self.start_decay_depth


@dataclass(frozen=True)
class ScheduleConfig:
    """How long to train and how often to validate and save."""

    max_steps: int = _f(2000, "Optimiser steps (also sets the LR decay length). A run from --init "
                              "continues its checkpoint's step count: this is the total, not the leg's.")
    time_budget_minutes: float = _f(0.0, "Stop after this much training time (0: no limit); "
                                         "for equal-budget ablations. Like max_steps, a run from --init "
                                         "counts its checkpoint's training time too.")
    val_every: int = _f(200, "Validate every N steps (0: only at the end).")
    checkpoint_every: int = _f(50, "Write the resumable checkpoint every N steps.")
    log_every: int = _f(10, "Append a CSV log row every N steps.")
    init_lr: str = _f("checkpoint", "A new leg (--init): continue the LR decay from the checkpoint's "
                                    "last LR (checkpoint), or restart it at optim.lr and decay to "
                                    "optim.lr x lr_end_ratio over this leg (config; for fine-tuning "
                                    "legs that must move the weights).", ("checkpoint", "config"))
    half_res_fraction: float = _f(0.0, "Fraction of this leg (its progress: steps or time budget) "
                                       "trained on frames halved in size (K halved), finishing at "
                                       "full size: ~3x the steps per CPU-hour early; 0: off.")


@dataclass(frozen=True)
class RunConfig:
    """Reproducibility and resources."""

    supervision: str = _f("supervised", "supervised (GT depth and OB) or self_supervised "
                                        "(photometric loss on frame triplets: the engine's exact "
                                        "poses, a bag's /tf or the pose network; plus OB BCE "
                                        "where a source has OB labels).", SUPERVISIONS)
    seed: int = _f(0, "Seed for weights, crops and shuffling.")
    threads: int = _f(1, "torch CPU threads per process.")
    device: str = _f("auto", "auto | cpu | cuda[:N] (DDP picks cuda:LOCAL_RANK).")
    output: str = _f("build/runs/default", "Run directory (checkpoints, logs, config).")
    tensorboard: bool = _f(True, "Also log to TensorBoard when torch.utils.tensorboard imports.")


@dataclass(frozen=True)
class PoseConfig:
    """Pose network of self-supervised bag sources without /tf (``poses: pose_net``)."""

    encoder: str = _f("efficientnet_lite0", "Backbone on two stacked frames: efficientnet_lite0/2 "
                                            "(packaged ImageNet weights), or any timm name (random init).")
    pretrained: bool = _f(True, "Load the packaged ImageNet weights (first conv repeated for the "
                                "second frame and halved).")


@dataclass(frozen=True)
class AugmentConfig:
    """Training-time augmentations against the synthetic-to-real gap (training/data/augment.py).

    All off by default, so configs and checkpoints written before this group train as they did.
    """

    greyscale_prob: float = _f(0.0, "Share of images turned grey (all three channels equal), as a mono "
                                    "camera's driver (e.g. OAK-D) sends them.", range=(0.0, 1.0))
    color_jitter: float = _f(0.0, "Brightness, contrast and saturation factors drawn in [1-s, 1+s] "
                                  "per image (0: off).", range=(0.0, 0.9))
    gamma_jitter: float = _f(0.0, "Gamma drawn log-uniformly in [1/(1+g), 1+g] per image (0: off).",
                             range=(0.0, 1.0))
    blur_prob: float = _f(0.0, "Share of images blurred by a Gaussian (defocus, motion, cheap lenses).",
                          range=(0.0, 1.0))
    blur_max_sigma: float = _f(1.0, "Largest blur sigma, px (drawn uniformly from 0.2 up to it).",
                               range=(0.2, 3.0))
    noise_std: float = _f(0.0, "Additive Gaussian sensor noise: std drawn in [0, noise_std] per image, "
                               "in units of full scale (0: off).", range=(0.0, 0.2))
    randconv_prob: float = _f(0.0, "Share of images passed through a random 3x3 or 5x5 convolution "
                                   "mixed with the original (RandConv, Xu et al., ICLR 2021).",
                              range=(0.0, 1.0))
    roll_deg: float = _f(0.0, "Camera roll about the optical axis drawn in [-roll_deg, roll_deg]; "
                              "supervised batches only (0: off).", range=(0.0, 45.0))

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            (low, high), value = f.metadata["range"], getattr(self, f.name)
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if not (number and low <= value <= high):  # NaN fails the comparison too
                raise ConfigError(f"augment.{f.name}={value!r} must be a number in [{low}, {high}]")

    @property
    def active(self) -> bool:
        """Whether any augmentation changes a batch."""
        return any(getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "blur_max_sigma")


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run needs; stored in every checkpoint."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    run: RunConfig = field(default_factory=RunConfig)
    pose: PoseConfig = field(default_factory=PoseConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    def __post_init__(self) -> None:
        _check_choices(self.run)
        _check_choices(self.schedule)
        for name in ("crop_height", "crop_width"):
            if getattr(self.data, name) % 16 or getattr(self.data, name) <= 0:
                raise ConfigError(f"data.{name}={getattr(self.data, name)} must be a positive "
                                  "multiple of 16")
        if self.run.supervision == "self_supervised" and not self.model.predicts_depth:
            raise ConfigError("run.supervision=self_supervised needs a depth variant, "
                              f"got model.variant={self.model.variant}")
        if self.run.supervision == "self_supervised" and self.loss.gradient_weight > 0:
            raise ConfigError("loss.gradient_weight needs GT depth: run.supervision=supervised")
        stills = [s.kind for s in self.data.sources if s.kind not in ("synthetic", "bag")]
        if stills and self.run.supervision == "self_supervised":
            raise ConfigError(f"data.sources of kind {stills[0]} train supervised only (single frames; "
                              "self-supervised training needs video: a bag)")
        if self.schedule.max_steps <= 0 or self.data.batch_size <= 0:
            raise ConfigError("schedule.max_steps and data.batch_size must be > 0")
        if not 0.0 <= self.schedule.half_res_fraction <= 1.0:
            raise ConfigError(f"schedule.half_res_fraction={self.schedule.half_res_fraction} must be in [0, 1]")
        _check_video_settings(self)

    def to_dict(self) -> dict[str, Any]:
        return _to_plain(self)


def _check_video_settings(config: TrainConfig) -> None:
    """Pose-network and video-bag settings must reach a run that uses them, never be ignored."""
    supervised = config.run.supervision == "supervised"
    for i, spec in enumerate(config.data.sources):
        if supervised and spec.kind == "bag" and (keys := spec.video_keys_set()):
            raise ConfigError(f"data.sources[{i}] sets {', '.join(keys)}, which apply to "
                              "run.supervision=self_supervised only; remove them or train self-supervised")
    if config.pose != PoseConfig():
        users = [s for s in config.data.sources if s.kind == "bag" and s.poses != "tf"]
        if supervised or not users:
            raise ConfigError("the pose group configures the pose network of self-supervised bag sources "
                              "without /tf (poses: auto or pose_net); this run has none: remove pose settings")


def _check_choices(config: Any) -> None:
    for f in dataclasses.fields(config):
        choices = f.metadata.get("choices")
        if choices and getattr(config, f.name) not in choices:
            raise ConfigError(f"{type(config).__name__}.{f.name}={getattr(config, f.name)!r}; "
                              f"allowed: {', '.join(choices)}")


def _to_plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {f.name: _to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple):
        return [_to_plain(v) for v in value]
    return value


_NESTED = {ModelConfig: {}, LossConfig: {"photometric": PhotometricConfig}}


def _from_plain(cls: type, values: dict[str, Any], where: str) -> Any:
    if not isinstance(values, dict):
        raise ConfigError(f"{where} must be a mapping, got {type(values).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"unknown keys {unknown} in {where}; allowed: {sorted(fields)}")
    kwargs = {}
    for key, value in values.items():
        sub = _GROUPS.get(key) if cls is TrainConfig else _NESTED.get(cls, {}).get(key)
        if cls is DataConfig and key == "sources":
            if not isinstance(value, (list, tuple)):
                raise ConfigError(f"{where}.sources must be a list of mappings, got {type(value).__name__}")
            kwargs[key] = tuple(_from_plain(SourceConfig, v, f"{where}.sources[{i}]")
                                for i, v in enumerate(value))
        elif sub is not None:
            kwargs[key] = _from_plain(sub, value or {}, f"{where}.{key}")
        else:
            kwargs[key] = tuple(value) if isinstance(value, list) else value
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{where}: {error}") from error


_GROUPS = {"model": ModelConfig, "data": DataConfig, "optim": OptimConfig, "loss": LossConfig,
           "schedule": ScheduleConfig, "run": RunConfig, "pose": PoseConfig, "augment": AugmentConfig}


def config_from_dict(values: dict[str, Any]) -> TrainConfig:
    """TrainConfig from plain nested dicts (YAML or checkpoint); missing keys take defaults."""
    return _from_plain(TrainConfig, values or {}, "config")


def load_config(path: str | Path, overrides: dict[str, dict[str, Any]] | None = None) -> TrainConfig:
    """Read a YAML config; ``overrides`` = {group: {key: value}} is applied on top."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    values = yaml.safe_load(path.read_text()) or {}
    for group, items in (overrides or {}).items():
        values.setdefault(group, {}).update(items)
    return config_from_dict(values)


def save_config(config: TrainConfig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    return path

"""Training-step cost of the shipped recipe: where a step's time goes, and steps per CPU-hour.

The recipe (``training/configs/recipe_lite0.yaml``: MoDOT + mixture head, Lite0, full 320x240
frames, batch 4) from the shipped weights, at a step past ``loss.obdcl_start_step`` so the OB
branch and OBDCL are on, as in the shipped legs. A step is timed from the batch request to the end
of the optimiser step: the trainer's own clock starts after the batch arrives, so its
``train_seconds`` leave in-process data loading out. Every way of running the recipe is timed
side by side in one run; steps per CPU-hour = 3600 / (s/step x torch threads), what an hour of
one core buys, so 2 threads pay off only if they more than halve the step.

The phases come from a copy of ``train_step`` cut at its phase boundaries (the trainer has no
hooks); the throughput rows call ``train_step`` itself, so the phase sum and the
"cache, 1 thread" step should agree, and a gap means the copy no longer matches the trainer.
"""
from __future__ import annotations

import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from benchmarks.harness import benchmark
from modot_ros.checkpoint import default_weights_path, load_checkpoint, load_state_strict
from modot_ros.model.network import DepthBoundaryNet
from training.config import TrainConfig, load_config
from training.data.augment import augment_batch
from training.data.frames import CropDataset, RenderDataset, StepBatchSampler, ensure_cache, load_cache
from training.encoder_preservation import encoder_frozen, param_groups, set_encoder_frozen
from training.losses.compose import compose_loss
from training.trainer import train_step

REPO = Path(__file__).resolve().parents[1]
RECIPE = REPO / "training/configs/recipe_lite0.yaml"
CACHE = REPO / "build/cache/bench_train16_240x320.pt"  # 16 train scenes, rendered once on demand
CPU = torch.device("cpu")
# The appearance lever leg's settings (scripts/lever_leg.sh appear) plus a 10 degree roll: all on.
AUGMENT = {"greyscale_prob": 0.5, "color_jitter": 0.3, "gamma_jitter": 0.3, "blur_prob": 0.2,
           "noise_std": 0.02, "randconv_prob": 0.3, "roll_deg": 10.0}
# (label, torch threads, config overrides); the first is the reference of every ratio
WAYS = (("cache, 1 thread", 1, {}),
        ("cache, 2 threads", 2, {}),
        ("rendered in-process, 2 threads", 2, {"data": {"source": "render"}}),
        ("cache, encoder frozen, 1 thread", 1, {"optim": {"encoder_lr_scale": 0.0}}),
        ("cache, augmentations on, 1 thread", 1, {"augment": AUGMENT}))
PHASES = ("data", "forward", "loss", "backward", "optimizer step")


@contextmanager
def _threads(n: int):
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# --quick: a tiny network on 48x64 frames, so the smoke run times the same code in seconds
QUICK_MODEL = {"input_height": 48, "input_width": 64, "decoder_channels": [16, 16, 16, 16],
               "canonical_focal": 50.0, "max_depth": 40.0, "pretrained_encoder": False}


def _config(quick: bool, cache: Path, overrides: dict) -> TrainConfig:
    """The recipe with ``overrides``; --quick: QUICK_MODEL on 48x64 frames, batch 2."""
    base = {"data": {"train_cache": str(cache), "render_device": "cpu", "workers": 0}}
    if quick:
        base = {"model": dict(QUICK_MODEL),
                "data": base["data"] | {"crop_height": 48, "crop_width": 64, "batch_size": 2,
                                        "render_size": [48, 64]}}
    groups = {g: base.get(g, {}) | overrides.get(g, {}) for g in {*base, *overrides}}
    return load_config(RECIPE, groups)


def _first_step(config: TrainConfig) -> int:
    """A step with the OB branch and OBDCL on, as in the shipped legs."""
    return max(config.loss.ob_start_step, config.loss.obdcl_start_step)


def _model(config: TrainConfig, quick: bool) -> DepthBoundaryNet:
    """The shipped weights (strict; the recipe's model must be theirs), or the tiny net for --quick."""
    torch.manual_seed(config.run.seed)
    model = DepthBoundaryNet(config.model, pretrained=False)
    if not quick:
        checkpoint = load_checkpoint(default_weights_path())
        if checkpoint.model_config != config.model:
            raise ValueError(f"{RECIPE.name} no longer describes the shipped weights' model")
        load_state_strict(model, checkpoint.state_dict, default_weights_path())
    return model.train()


def _optimizer(model: DepthBoundaryNet, config: TrainConfig) -> torch.optim.Optimizer:
    """The trainer's AdamW over [encoder, rest], each group at its scaled recipe LR."""
    optimizer = torch.optim.AdamW(param_groups(model, [], config.optim), lr=config.optim.lr,
                                  weight_decay=config.optim.weight_decay)
    for group in optimizer.param_groups:
        group["lr"] = config.optim.lr * group["lr_scale"]
    return optimizer


def _batches(config: TrainConfig, start: int, steps: int):
    """The trainer's data path with ``workers: 0``: dataset, step sampler, DataLoader."""
    data, crop = config.data, (config.data.crop_height, config.data.crop_width)
    if data.source == "render":
        dataset = RenderDataset(data.render_scenes, tuple(data.render_size), crop, data.flip,
                                config.run.seed, "cpu", data.camera_profiles)
    else:
        dataset = CropDataset(load_cache(data.train_cache), crop, data.flip, False, random=True,
                              seed=config.run.seed)
    sampler = StepBatchSampler(data.batch_size, start, start + steps)
    return iter(DataLoader(dataset, batch_sampler=sampler, num_workers=0))


def _next_batch(batches, config: TrainConfig, step: int) -> dict:
    return augment_batch(next(batches), config.augment, (config.run.seed, step, 0))


def _phased_step(model, batches, optimizer, config: TrainConfig, step: int) -> dict[str, float]:
    """``train_step`` (CPU, no pose net) cut at its phase boundaries; seconds per phase."""
    marks = [time.perf_counter()]
    batch = _next_batch(batches, config, step)
    marks.append(time.perf_counter())
    set_encoder_frozen(model, encoder_frozen(config.optim, step))
    out = model(batch["rgb"], with_boundary=step >= config.loss.ob_start_step)
    marks.append(time.perf_counter())
    loss, _ = compose_loss(out, batch, model.config, config.loss, config.run.supervision, step)
    marks.append(time.perf_counter())
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    marks.append(time.perf_counter())
    if config.optim.grad_clip > 0:
        params = [p for group in optimizer.param_groups for p in group["params"]]
        torch.nn.utils.clip_grad_norm_(params, config.optim.grad_clip)
    optimizer.step()
    marks.append(time.perf_counter())
    return dict(zip(PHASES, np.diff(marks)))


def _seconds_per_step(config: TrainConfig, quick: bool, threads: int, steps: int) -> float:
    """Median seconds of a whole step (batch + augment + ``train_step``) after one warm-up step."""
    model, start = _model(config, quick), _first_step(config)
    optimizer, scaler = _optimizer(model, config), torch.amp.GradScaler("cpu", enabled=False)
    batches, times = _batches(config, start, steps + 1), []
    with _threads(threads):
        for step in range(start, start + steps + 1):
            began = time.perf_counter()
            train_step(model, _next_batch(batches, config, step), optimizer, scaler, config, step, CPU)
            times.append(time.perf_counter() - began)
    return float(np.median(times[1:]))


@contextmanager
def _cache(quick: bool):
    """Path of a train-split frame cache: 16 scenes at 240x320 in build/cache, 2 at 48x64 in a tmp dir."""
    if not quick:
        yield ensure_cache(CACHE, "train", 16)
        return
    with tempfile.TemporaryDirectory() as tmp:
        yield ensure_cache(Path(tmp) / "train.pt", "train", 2, size=(48, 64))


def _size(config: TrainConfig, quick: bool) -> str:
    model = "tiny" if quick else config.model.encoder.replace("efficientnet_", "")
    return f"{model} {config.data.crop_width}x{config.data.crop_height} b{config.data.batch_size}"


PHASE_NAMES = {"data": "data: cache crops, DataLoader, 0 workers", "forward": "forward, OB branch on",
               "loss": "loss: compose_loss, OBDCL on", "backward": "backward",
               "optimizer step": "optimizer step: grad clip + AdamW"}


@benchmark("train.phases")
def step_phases(quick: bool) -> list[dict]:
    """Median time of each phase of a recipe step from the frame cache, 1 torch thread."""
    steps = 1 if quick else 10
    with _cache(quick) as cache:
        config = _config(quick, cache, {})
        model, start = _model(config, quick), _first_step(config)
        optimizer, batches = _optimizer(model, config), _batches(config, start, steps + 1)
        with _threads(1):
            timed = [_phased_step(model, batches, optimizer, config, step)
                     for step in range(start, start + steps + 1)][1:]  # the first warms up
    median = {phase: float(np.median([t[phase] for t in timed])) for phase in PHASES}
    total, note = sum(median.values()), f"{_size(config, quick)}, step {start}+"
    rows = [{"name": f"phase {PHASE_NAMES[phase]}", "value": median[phase] * 1e3, "unit": "ms",
             "ratio": median[phase] / total, "ratio_to": "step (phase sum)", "note": note}
            for phase in PHASES]
    return rows + [{"name": f"step {_size(config, quick)}, 1 thread (phase sum)", "value": total * 1e3,
                    "unit": "ms", "note": note}]


@benchmark("train.throughput")
def throughput(quick: bool) -> list[dict]:
    """Seconds per recipe step and steps per CPU-hour of each way of running it, vs cache + 1 thread."""
    steps, rows = (1 if quick else 10), []
    with _cache(quick) as cache:
        for label, threads, overrides in WAYS:
            config = _config(quick, cache, overrides)
            seconds = _seconds_per_step(config, quick, threads, steps)
            rows.append((label, seconds, 3600.0 / (seconds * threads)))
    reference, note = rows[0], f"{_size(config, quick)}, step {_first_step(config)}+, median of {steps}"
    out = []
    for label, seconds, per_cpu_hour in rows:
        out += [{"name": f"{label}: s/step", "value": seconds, "unit": "s", "ratio": seconds / reference[1],
                 "ratio_to": reference[0], "note": note},
                {"name": f"{label}: per CPU-hour", "value": per_cpu_hour, "unit": "steps",
                 "ratio": per_cpu_hour / reference[2], "ratio_to": reference[0], "note": note}]
    return out

"""The training loop: setup, step, validation and checkpointing as separate functions.

Single process (``python -m training.train``) or DDP under ``torchrun`` (gloo on CPU, nccl on
CUDA; each rank draws its own slice of every step's batch, see ``StepBatchSampler``). The
resumable state goes to ``OUTPUT/last.pt`` every ``schedule.checkpoint_every`` steps, written
atomically; ``--resume`` continues from it with the same data order. At the end the runtime
checkpoint ``OUTPUT/final.pt`` (``modot_ros.checkpoint`` format) is written.
"""
from __future__ import annotations

import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm import tqdm

from modot_ros.checkpoint import save_checkpoint
from modot_ros.config import ConfigError
from modot_ros.inference import resolve_device
from modot_ros.model.network import DepthBoundaryNet
from training.config import ScheduleConfig, TrainConfig, config_from_dict, save_config
from training.data.augment import augment_batch
from training.data.frames import (CropDataset, RenderDataset, StepBatchSampler, ensure_cache,
                                  load_cache)
from training.data.resolution import halved
from training.data.sources import MixedDataset, real_source
from training.encoder_preservation import (encoder_frozen, fit_saved_groups, freeze_norm_statistics,
                                           param_groups, set_encoder_frozen)
from training.losses.compose import compose_loss
from training.pose_net import PoseNet, fill_unknown_poses
from training.start_anchor import StartAnchor
from training.trainer_state import LAST, ResumeError, RunLog, load_state, remove_stale_temps, save_state
from training.trainer_val import validate


@dataclass(frozen=True)
class Dist:
    """This process's place in the (possibly single-process) job."""

    rank: int
    world: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup_distributed(device: str) -> Dist:
    """Join the torchrun job when WORLD_SIZE > 1 (gloo on CPU, nccl on CUDA)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return Dist(0, 1, resolve_device(device))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    resolved = resolve_device(device)
    if resolved.type == "cuda":
        resolved = torch.device("cuda", local)
        torch.cuda.set_device(resolved)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if resolved.type == "cuda" else "gloo")
    return Dist(dist.get_rank(), world, resolved)


def progress(config: TrainConfig, step: int, elapsed_s: float) -> float:
    """Fraction of the run done: steps or the time budget, whichever is ahead (<= 1)."""
    done = step / config.schedule.max_steps
    if config.schedule.time_budget_minutes > 0:
        done = max(done, elapsed_s / (60.0 * config.schedule.time_budget_minutes))
    return min(done, 1.0)


def learning_rate(config: TrainConfig, step: int, elapsed_s: float,
                  anchor: tuple[float, float] | None = None) -> float:
    """Polynomial decay from ``optim.lr`` to ``lr * lr_end_ratio`` over the run's progress.

    ``anchor`` = (progress, lr) where a resumed run changed its schedule (a longer budget for a
    new leg): the decay then continues from that LR over the remaining progress instead of
    restarting from ``optim.lr``, so the LR is continuous across legs.
    """
    o = config.optim
    end = o.lr * o.lr_end_ratio
    start = anchor[1] if anchor else o.lr
    return (start - end) * (1.0 - leg_progress(config, step, elapsed_s, anchor)) ** o.poly_power + end


def leg_progress(config: TrainConfig, step: int, elapsed_s: float,
                 anchor: tuple[float, float] | None = None) -> float:
    """Fraction of this leg done (0..1): the run's progress counted from the leg's ``anchor``."""
    p = progress(config, step, elapsed_s)
    if anchor:
        p = (p - anchor[0]) / max(1.0 - anchor[0], 1e-9)
    return min(max(p, 0.0), 1.0)


def at_half_resolution(config: TrainConfig, run: "Progress") -> bool:
    """True while this step is in the leg's half-size phase (``schedule.half_res_fraction``)."""
    fraction = config.schedule.half_res_fraction
    return fraction > 0 and leg_progress(config, run.step, run.elapsed, run.anchor) < fraction


def build_model(config: TrainConfig, device: torch.device) -> DepthBoundaryNet:
    torch.manual_seed(config.run.seed)
    return DepthBoundaryNet(config.model).to(device).train()


def build_pose_net(config: TrainConfig, described: dict, device: torch.device) -> PoseNet | None:
    """The pose network when a source has no poses of its own (``poses: pose_net``), else None."""
    if not any(s.get("poses") == "pose_net" for s in described.get("sources", [])):
        return None
    torch.manual_seed(config.run.seed + 1)
    return PoseNet(config.pose).to(device).train()


def _optimizer(model: DepthBoundaryNet, others: list, config: TrainConfig) -> torch.optim.Optimizer:
    """AdamW over [encoder, the rest]; each group's ``lr_scale`` multiplies the scheduled LR."""
    groups = param_groups(model, others, config.optim)
    return torch.optim.AdamW(groups, lr=config.optim.lr, weight_decay=config.optim.weight_decay)


def _loader(config: TrainConfig, dataset, start: int, d: Dist) -> DataLoader:
    sampler = StepBatchSampler(config.data.batch_size, start, config.schedule.max_steps,
                               d.rank, d.world)
    return DataLoader(dataset, batch_sampler=sampler, num_workers=config.data.workers,
                      persistent_workers=False)


def _to(batch: dict, device: torch.device) -> dict:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


def _synthetic_train(config: TrainConfig, cache_path: str, render_device: str | None) -> tuple:
    """(train dataset, description) of the engine: on-the-fly rendering or a frame cache."""
    data, sequence = config.data, config.run.supervision == "self_supervised"
    crop = (data.crop_height, data.crop_width)
    described = {"source": "training.data.synth (procedural renderer)", "crop": list(crop),
                 "profiles": list(data.camera_profiles), "rooms": data.room_style}
    if render_device is not None:
        if sequence:
            raise ConfigError("data.source=render renders key frames only; self-supervised "
                              "training needs a cache with source frames")
        train = RenderDataset(data.render_scenes, tuple(data.render_size), crop, data.flip,
                              config.run.seed, render_device, data.camera_profiles, data.room_style)
        return train, described | {"split": "train", "scenes": data.render_scenes,
                                   "rendered": "on the fly", "frame_size": list(data.render_size)}
    cache = load_cache(cache_path, "train", 5000)
    train = CropDataset(cache, crop, data.flip, sequence, random=True, seed=config.run.seed)
    return train, described | {"split": cache["split"], "scenes": len(cache["seeds"]),
                               "first_seed": cache["seeds"][0],
                               "frame_size": list(cache["depth"].shape[-2:]),
                               "profiles": cache.get("profiles", []),
                               "rooms": cache.get("rooms", "classic"),
                               "source_offsets": cache["source_offsets"] if sequence else []}


def _mixed_train(config: TrainConfig, render_device: str | None) -> tuple:
    """(MixedDataset, description) of ``data.sources``."""
    data, parts = config.data, []
    size, crop = (config.model.input_height, config.model.input_width), (data.crop_height, data.crop_width)
    for spec in data.sources:
        if spec.kind == "synthetic":
            parts.append(_synthetic_train(config, spec.path or data.train_cache, render_device))
            parts[-1][1].update(kind="synthetic", weight=spec.weight, ob="labels")
        else:
            sequence = config.run.supervision == "self_supervised"
            parts.append(real_source(spec, size, crop, data.flip, config.run.seed, sequence))
    train = MixedDataset([p[0] for p in parts], [s.weight for s in data.sources], data.batch_size,
                         config.run.seed)
    return train, {"sources": [p[1] for p in parts], "mixed": "per batch by weight", "crop": list(crop)}


def _datasets(config: TrainConfig, device: torch.device) -> tuple:
    """(train dataset, validation dataset, data description for the checkpoint)."""
    data = config.data
    render_device = str(resolve_device(data.render_device)) if data.source == "render" else None
    if data.sources:
        train, described = _mixed_train(config, render_device)
    else:
        train, described = _synthetic_train(config, data.train_cache, render_device)
    real_only = bool(data.sources) and all(s.kind != "synthetic" for s in data.sources)
    if render_device is not None or real_only:
        # no hand-built frame cache in this run: its few validation scenes are rendered here (seconds)
        size = (config.model.input_height, config.model.input_width)
        val_cache = load_cache(ensure_cache(data.val_cache, "val", data.val_images, device=render_device or "cpu",
                                            size=size))
    else:
        val_cache = load_cache(data.val_cache, "val", max(200, data.val_images))
    return train, CropDataset(val_cache, None, False, False, random=False), described


def train_step(model, batch: dict, optimizer, scaler, config: TrainConfig, step: int,
               device: torch.device, pose_net=None, anchor: StartAnchor | None = None) -> dict[str, torch.Tensor]:
    """Forward, loss, backward, clip, step; returns the detached loss terms.

    pose_net: predicts the relative poses a sample does not know (video bags without /tf).
    anchor: pulls the weights back toward the --init ones after the step (``optim.start_decay``).
    """
    amp = config.optim.amp and device.type == "cuda"
    joint = step >= config.loss.ob_start_step  # depth first, then the OB branch joins
    raw = model.module if isinstance(model, DistributedDataParallel) else model
    set_encoder_frozen(raw, encoder_frozen(config.optim, step))  # validation may have reset it
    if config.optim.freeze_norm_stats:
        freeze_norm_statistics(raw)
    with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=amp):
        out = model(batch["rgb"], with_boundary=joint)
    batch = fill_unknown_poses(batch, pose_net)
    loss, terms = compose_loss(out, batch, raw.config, config.loss, config.run.supervision, step)
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    if config.optim.grad_clip > 0:
        scaler.unscale_(optimizer)
        params = [p for group in optimizer.param_groups for p in group["params"]]
        terms["grad_norm"] = torch.nn.utils.clip_grad_norm_(params, config.optim.grad_clip).detach()
    scaler.step(optimizer)
    scaler.update()
    if anchor is not None:
        anchor.pull(optimizer)
        terms["start_drift"] = anchor.drift(raw)
    return terms


@dataclass
class Progress:
    """Where a run stands; saved with the resumable state."""

    step: int = 0
    elapsed: float = 0.0
    anchor: tuple[float, float] | None = None
    legs: list[dict] = field(default_factory=list)

    def start_leg(self, config: TrainConfig, device: torch.device, world: int) -> None:
        self.legs.append({"start_step": self.step, "end_step": self.step, "train_seconds": 0.0,
                          "command": " ".join(sys.argv), "started": time.strftime("%Y-%m-%d %H:%M"),
                          "hardware": f"{platform.processor() or platform.machine()}, "
                                      f"{os.cpu_count()} cores, {device}, world {world}, "
                                      f"{config.run.threads} threads",
                          "max_steps": config.schedule.max_steps,
                          "time_budget_minutes": config.schedule.time_budget_minutes})
        self._leg_start = self.elapsed

    def advance(self, seconds: float) -> None:
        self.step += 1
        self.elapsed += seconds
        self.legs[-1].update(end_step=self.step,
                             train_seconds=round(self.elapsed - self._leg_start, 1))


def _resume(output: Path, config: TrainConfig, model, optimizer, scaler, pose_net=None) -> Progress:
    state = load_state(output)
    if state is None:
        return Progress()
    saved = config_from_dict(state["config"])
    if saved.model != config.model:
        raise ResumeError(f"{output}/last.pt was trained with a different model config; "
                          "use another --output or the same config")
    model.load_state_dict(state["model"])
    if (pose_net is None) != (not state.get("pose_net")):
        raise ResumeError(f"{output}/last.pt was trained {'without' if pose_net else 'with'} a pose network; "
                          "use another --output or the same data.sources")
    if pose_net is not None:
        pose_net.load_state_dict(state["pose_net"])
    optimizer.load_state_dict(fit_saved_groups(state["optimizer"], optimizer))
    if state["scaler"]:
        scaler.load_state_dict(state["scaler"])
    torch.set_rng_state(state["torch_rng"])
    run = Progress(int(state["step"]), float(state["elapsed_s"]),
                   tuple(state.get("lr_anchor") or ()) or None, list(state.get("legs", [])))
    if (saved.schedule, saved.optim) != (config.schedule, config.optim):
        # A new leg with another budget: continue the LR from where it was, never restart it.
        lr_now = learning_rate(saved, run.step, run.elapsed, run.anchor)
        run.anchor = (progress(config, run.step, run.elapsed), lr_now)
    return run


def _stop(config: TrainConfig, elapsed_s: float, d: Dist) -> bool:
    """Time budget reached? All ranks agree (rank 0's clock decides)."""
    budget = config.schedule.time_budget_minutes
    flag = torch.tensor([float(budget > 0 and elapsed_s >= 60.0 * budget)])
    if d.world > 1:
        dist.broadcast(flag, 0)
    return bool(flag.item())


def init_leg_problem(path: str | Path, steps: int, train_seconds: float, schedule: ScheduleConfig) -> str | None:
    """Why a --init leg from a checkpoint at ``steps`` and ``train_seconds`` would train no step (None: it trains).

    The leg continues the checkpoint's step count and training time, so max_steps and
    time_budget_minutes are run totals; a total already reached would end the loop at once and
    write a "fine-tuned" final.pt identical to the start.
    """
    if steps >= schedule.max_steps:
        return (f"--init {path} is at step {steps} and schedule.max_steps={schedule.max_steps}: a --init leg "
                f"continues the checkpoint's step count; set schedule.max_steps={steps + schedule.max_steps} "
                f"for {schedule.max_steps} more steps")
    budget = schedule.time_budget_minutes
    if budget > 0 and train_seconds >= 60.0 * budget:  # the test _stop makes before every step
        return (f"--init {path} has trained {train_seconds / 60:.1f} min and schedule.time_budget_minutes="
                f"{budget:g}: a --init leg continues the checkpoint's training time; set "
                f"schedule.time_budget_minutes={round(train_seconds / 60 + budget, 1):g} for {budget:g} more minutes")
    return None


def _read_init(path: str | Path, config: TrainConfig):
    """The --init checkpoint; ResumeError when it does not fit this run or its leg would train no step."""
    from modot_ros.checkpoint import load_checkpoint

    checkpoint = load_checkpoint(path)
    if checkpoint.model_config != config.model:
        raise ResumeError(f"{path} has a different model config than this run's; use the "
                          "config it was trained with (its training_config)")
    stats = checkpoint.training_config.get("run_stats", {})
    if problem := init_leg_problem(path, int(stats.get("steps", 0)), float(stats.get("train_seconds", 0.0)),
                                   config.schedule):
        raise ResumeError(problem)
    return checkpoint


def _init_from(path: str | Path, checkpoint, config: TrainConfig, model) -> Progress:
    """Start a new leg from a runtime checkpoint (e.g. the committed weights) read by ``_read_init``.

    Takes its weights, step count, time and legs, and its last LR as the anchor; the optimiser
    state starts fresh.
    """
    from modot_ros.checkpoint import load_state_strict

    load_state_strict(model, checkpoint.state_dict, path)
    stats = checkpoint.training_config.get("run_stats", {})
    run = Progress(int(stats.get("steps", 0)), float(stats.get("train_seconds", 0.0)), None,
                   list(stats.get("legs", [])))
    if "lr" in stats or config.schedule.init_lr == "config":
        lr = config.optim.lr if config.schedule.init_lr == "config" else float(stats["lr"])
        run.anchor = (progress(config, run.step, run.elapsed), lr)
    return run


def _setup(config: TrainConfig, d: Dist, output: Path, resume: bool, init, described: dict,
           init_checkpoint=None) -> tuple:
    """(model, pose network or None, optimiser, scaler, progress), resumed or from ``init``.

    ``init_checkpoint``: ``init`` already read by ``_read_init`` (None: read it here if needed).
    """
    model = build_model(config, d.device)
    pose_net = build_pose_net(config, described, d.device)
    optimizer = _optimizer(model, [pose_net], config)
    scaler = torch.amp.GradScaler(d.device.type,
                                  enabled=config.optim.amp and d.device.type == "cuda")
    run = _resume(output, config, model, optimizer, scaler, pose_net) if resume else Progress()
    if init and run.step == 0:
        run = _init_from(init, init_checkpoint or _read_init(init, config), config, model)
    run.start_leg(config, d.device, d.world)
    return model, pose_net, optimizer, scaler, run


def _distributed(model, pose_net, config: TrainConfig, d: Dist) -> tuple:
    """DDP wrappers of the trained modules (the modules themselves in a single process)."""
    if d.world == 1:
        return model, pose_net
    # The OB head sits idle during the depth-first phase, a frozen encoder gives no gradients:
    # DDP must tolerate unused parameters.
    frozen = config.optim.encoder_lr_scale == 0 or config.optim.encoder_frozen_steps > 0
    net = DistributedDataParallel(model, find_unused_parameters=config.loss.ob_start_step > 0 or frozen)
    # a batch may hold no pose-net sample at all (sources are mixed by weight)
    return net, DistributedDataParallel(pose_net, find_unused_parameters=True) if pose_net else None


def _anchor_problem(config: TrainConfig, init: str | Path | None) -> str | None:
    """Why ``optim.start_decay`` cannot run (None: it can): it pulls toward --init weights."""
    optim = config.optim
    if max(optim.start_decay, optim.depth_pull) > 0 and not init:
        depth = "" if optim.start_decay_depth == -1 else f" (optim.start_decay_depth={optim.start_decay_depth})"
        return (f"optim.start_decay={optim.start_decay}{depth} pulls toward the --init weights: give --init (the "
                "checkpoint the fine-tune starts from; a resumed run gives the same one again), or set it to 0")
    return None


def train(config: TrainConfig, output: str | Path | None = None, resume: bool = False,
          init: str | Path | None = None) -> Path:
    """Run (or continue) a training run; returns the runtime checkpoint path.

    ``resume``: continue from OUTPUT/last.pt (weights, optimiser, data order). ``init``: when
    there is nothing to resume, start from a runtime checkpoint's weights and schedule position.
    """
    output = Path(output or config.run.output)
    torch.set_num_threads(config.run.threads)
    d = setup_distributed(config.run.device)
    if d.main and (stale := remove_stale_temps(output)):
        print(f"removed {len(stale)} checkpoint temp file(s) of an interrupted save in {output}",
              file=sys.stderr)
    # an --init leg that would train no step is refused before the data loads (minutes when rendered)
    if problem := _anchor_problem(config, init):
        raise ConfigError(problem)
    init_checkpoint = _read_init(init, config) if init and not (resume and (output / LAST).is_file()) else None
    train_ds, val_ds, described = _datasets(config, d.device)  # bad data stops here, before any model
    model, pose_net, optimizer, scaler, run = _setup(config, d, output, resume, init, described, init_checkpoint)
    pulls = config.optim.start_decay, config.optim.depth_pull
    anchor = StartAnchor.from_checkpoint(init, model, *pulls) if max(pulls) > 0 else None
    net, poser = _distributed(model, pose_net, config, d)
    if d.main:
        save_config(config, output / "config.yaml")
    logs = _Logs(output, run.step, config, d.main)
    for batch in _loader(config, train_ds, run.step, d):
        if _stop(config, run.elapsed, d):
            break
        started = time.perf_counter()
        lr = learning_rate(config, run.step, run.elapsed, run.anchor)
        for group in optimizer.param_groups:
            group["lr"] = lr * group["lr_scale"]
        batch = _to(batch, d.device)
        if at_half_resolution(config, run):  # before augmenting: noise and blur at the size trained
            batch = halved(batch)
        # seeded by the step (and rank), so a resumed run augments as an unbroken one does
        batch = augment_batch(batch, config.augment, (config.run.seed, run.step, d.rank))
        terms = train_step(net, batch, optimizer, scaler, config, run.step, d.device, poser, anchor)
        run.advance(time.perf_counter() - started)
        logs.after_step(run, terms, lr, model, val_ds)
        if run.step % config.schedule.checkpoint_every == 0 and d.main:
            _save(output, model, optimizer, scaler, run, config, pose_net)
    metrics = logs.close(run, model, val_ds)
    described = _report(train_ds, logs, described)
    return _finish(config, output, model, optimizer, scaler, run, described, metrics, d, pose_net)


def _report(train_ds, logs: "_Logs", described: dict) -> dict:
    """The data description plus what training left out: unreadable frames, groundless images."""
    if skipped := getattr(train_ds, "skipped", lambda: {})():
        described = described | {"skipped_frames": skipped}
        print(f"skipped {len(skipped)} unreadable frame(s); listed in the checkpoint's data description",
              file=sys.stderr)
    if logs.main and logs.totals:
        used, left = (int(logs.totals.get(k, 0)) for k in ("height_images", "height_skipped"))
        described = described | {"camera_height_images": {"used": used, "skipped": left}}
        print(f"camera height: {used} image(s) scaled, {left} skipped (no plausible ground plane; "
              "train.csv height_skipped_total)", file=sys.stderr)
    return described


class _Logs:
    """Progress bar, CSV logs and periodic validation of the main process."""

    def __init__(self, output: Path, step: int, config: TrainConfig, main: bool) -> None:
        self.config, self.main = config, main
        self.log = RunLog(output / "train.csv", step, config.run.tensorboard) if main else None
        self.val_log = RunLog(output / "val.csv", step, False) if main else None
        self.bar = tqdm(total=config.schedule.max_steps, initial=step, disable=not main,
                        desc=f"train {output.name}", mininterval=5)
        self.metrics, self.metrics_step = {}, -1
        self.totals: dict[str, float] = {}  # counts summed over every step of this leg, not only logged ones

    def after_step(self, run: Progress, terms: dict, lr: float, model, val_ds) -> None:
        self.bar.update(1)
        if not self.main:
            return
        for key in ("height_images", "height_skipped"):
            if key in terms:
                self.totals[key] = self.totals.get(key, 0.0) + terms[key].item()
        if run.step % self.config.schedule.log_every == 0:
            values = {k: v.item() for k, v in terms.items()} | {f"{k}_total": v for k, v in self.totals.items()}
            self.log.log(run.step, values | {"lr": lr, "elapsed_s": run.elapsed})
            self.bar.set_postfix(loss=f"{terms['total'].item():.3f}", **_time_left(self.config, run.elapsed))
        every = self.config.schedule.val_every
        if every and run.step % every == 0:
            self._validate(run, model, val_ds)

    def _validate(self, run: Progress, model, val_ds) -> None:
        self.metrics, self.metrics_step = validate(model, val_ds, self.config), run.step
        self.val_log.log(run.step, self.metrics)
        model.train()

    def close(self, run: Progress, model, val_ds) -> dict:
        self.bar.close()
        if self.main and self.metrics_step != run.step:
            self._validate(run, model, val_ds)
        if self.main:
            self.log.close()
        return self.metrics


def _time_left(config: TrainConfig, elapsed_s: float) -> dict[str, str]:
    """``left=M:SS`` of a time-budgeted run for the progress bar (its step total is only a cap)."""
    budget = config.schedule.time_budget_minutes
    if budget <= 0:
        return {}
    left = max(0, int(60.0 * budget - elapsed_s))
    return {"left": f"{left // 60}:{left % 60:02d}"}


def _save(output: Path, model, optimizer, scaler, run: Progress, config: TrainConfig, pose_net=None) -> None:
    save_state(output, model=model, optimizer=optimizer, scaler=scaler, step=run.step,
               elapsed_s=run.elapsed, config=config.to_dict(), lr_anchor=run.anchor, legs=run.legs,
               pose_net=pose_net)


def _finish(config, output, model, optimizer, scaler, run: Progress, described, metrics,
            d: Dist, pose_net=None) -> Path:
    final = output / "final.pt"
    if d.main:
        _save(output, model, optimizer, scaler, run, config, pose_net)  # the pose net stays in last.pt
        stats = {"steps": run.step, "train_seconds": round(run.elapsed, 1), "world_size": d.world,
                 "device": str(d.device), "threads": config.run.threads,
                 "images_seen": run.step * config.data.batch_size * d.world, "legs": run.legs,
                 "lr": learning_rate(config, run.step, run.elapsed, run.anchor)}
        tmp = output / ".final.pt.tmp"
        save_checkpoint(tmp, model, config.model, data=described, metrics={"val": metrics},
                        training_config=config.to_dict() | {"run_stats": stats})
        os.replace(tmp, final)
    if d.world > 1:
        dist.barrier()
    return final


def cleanup_distributed() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()

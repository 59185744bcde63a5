"""Train a depth + occlusion-boundary network from a YAML config.

    python -m training.train --config training/configs/default_lite0.yaml [--resume] [--output DIR]
    torchrun --nproc_per_node N -m training.train --config ...      # DDP (gloo on CPU)

Any config field can be overridden: ``--set schedule.max_steps=100 data.batch_size=4``.
"""
from __future__ import annotations

import argparse
import sys

import yaml

from modot_ros.checkpoint import CheckpointError
from modot_ros.config import ConfigError
from training.config import load_config
from training.data.frames import DataError
from training.trainer import cleanup_distributed, train
from training.trainer_state import ResumeError


def parse_overrides(items: list[str]) -> dict[str, dict]:
    """["group.key=value", ...] -> {group: {key: value}} (values parsed as YAML scalars)."""
    overrides: dict[str, dict] = {}
    for item in items:
        key, sep, value = item.partition("=")
        group, dot, name = key.partition(".")
        if not sep or not dot:
            raise ConfigError(f"override {item!r} must look like group.key=value")
        overrides.setdefault(group, {})[name] = yaml.safe_load(value)
    return overrides


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="YAML file (see training/configs/)")
    parser.add_argument("--output", help="run directory (default: run.output of the config)")
    parser.add_argument("--resume", action="store_true",
                        help="continue from OUTPUT/last.pt when it exists")
    parser.add_argument("--init", metavar="CHECKPOINT",
                        help="start from a runtime checkpoint's weights and schedule position "
                             "(a new leg of a committed run) when OUTPUT has nothing to resume; "
                             "schedule.max_steps and time_budget_minutes then count its steps and "
                             "time too (refused when already reached)")
    parser.add_argument("--set", nargs="*", default=[], metavar="GROUP.KEY=VALUE",
                        help="override config fields")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config, parse_overrides(args.set))
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        path = train(config, args.output, args.resume, args.init)
    except (ConfigError, DataError, ResumeError, CheckpointError) as error:
        # a missing frame cache, a run that cannot resume, a bad --init file: one line, no traceback
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        cleanup_distributed()
    print(f"runtime checkpoint: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

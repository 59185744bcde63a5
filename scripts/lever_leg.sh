#!/usr/bin/env bash
# One sim-to-real lever leg (experiment log entry 9): STEPS steps of the recipe from INIT (the shipped
# weights), the LR restarted at 1e-4 and decayed to 2e-5 over the leg, frames from a train cache,
# one torch thread (two legs run side by side on the 2-core VM), plus the lever's --set overrides.
#   scripts/lever_leg.sh control
#   scripts/lever_leg.sh appear augment.greyscale_prob=0.5 augment.color_jitter=0.3 ...
# Writes RUNS/lever_NAME/ (final.pt, train.csv); score with training.real_frames_report.
# From the environment: CACHE (default build/cache/train2k_240x320.pt, 2,000 scenes, ~5 min to
# render: docs/training.md), VAL_CACHE (build/cache/val_240x320.pt), STEPS (600) or MINUTES (an
# equal-time leg: training minutes, LR decayed over them), RUNS (build/runs),
# INIT (modot_ros/weights/modot_lite0.pt; entry 9 started from leg 3:
# git show 9b9cae7:modot_ros/weights/modot_lite0.pt > build/leg3_lite0.pt).
set -euo pipefail
NAME=${1:?usage: lever_leg.sh NAME [GROUP.KEY=VALUE ...]}
shift
cd "$(dirname "$0")/.."
CACHE=${CACHE:-build/cache/train2k_240x320.pt}
VAL_CACHE=${VAL_CACHE:-build/cache/val_240x320.pt}
STEPS=${STEPS:-600}
RUNS=${RUNS:-build/runs}
INIT=${INIT:-modot_ros/weights/modot_lite0.pt}
# --init continues the checkpoint's step count: the leg ends STEPS after INIT's last step
read -r START START_MIN < <(.venv/bin/python -c "from modot_ros.checkpoint import load_checkpoint as c; \
s = c('$INIT').training_config['run_stats']; print(s['steps'], s['train_seconds'] / 60)")
# MINUTES: an equal-time leg instead (the LR decays over MINUTES of training time; the budget is
# the run's total time, which continues INIT's)
if [[ -n "${MINUTES:-}" ]]; then
  BUDGET="schedule.max_steps=$((START + 1000000)) schedule.time_budget_minutes=$(awk "BEGIN {print $START_MIN + $MINUTES}")"
else
  BUDGET="schedule.max_steps=$((START + STEPS)) schedule.time_budget_minutes=0"
fi
exec env OMP_NUM_THREADS=1 .venv/bin/python -m training.train --config training/configs/recipe_lite0.yaml \
  --init "$INIT" --output "$RUNS/lever_$NAME" \
  --set data.train_cache="$CACHE" data.val_cache="$VAL_CACHE" $BUDGET \
  schedule.val_every=0 schedule.init_lr=config optim.lr=1.0e-4 optim.lr_end_ratio=0.2 run.threads=1 \
  run.seed=0 "$@"

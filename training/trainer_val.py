"""Quick validation during training: depth and OB monitors on full validation frames.

Depth monitors are the shared metrics (``modot_ros.evaluation.depth_errors.depth_metrics``, the
scorer's definitions, validity from ``depth_units.valid_depth_mask``) on the read-out moved to
numpy: one implementation, and at validation sizes the copy costs milliseconds. The OB monitor is
a cheap torch pixel F1, not the BSDS protocol; reported test numbers come from
``training.evaluate`` and its ``FrameScorer``.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from modot_ros import mixture
from modot_ros.depth_units import valid_depth_mask
from modot_ros.evaluation.depth_errors import depth_metrics
from training.losses.compose import batch_scale


def _depth_monitors(params: torch.Tensor, batch: dict, config) -> dict[str, float]:
    """Mean over the batch's images of AbsRel, RMSE and delta1 (mean of per-image metrics)."""
    params = mixture.resize_params(params, batch["depth"].shape[-2:])
    pred = mixture.readout(params, batch_scale(batch["K"], config.model)).depth[:, 0].cpu().numpy()
    gt = batch["depth"][:, 0].float().cpu().numpy()
    rows = [depth_metrics(p, g, valid=valid_depth_mask(g)) for p, g in zip(pred, gt)]
    return {key: float(np.nanmean([row[key] for row in rows])) for key in ("abs_rel", "rmse", "delta1")}


def _boundary_monitors(logits: torch.Tensor, gt: torch.Tensor) -> dict[str, float]:
    """Pixel F1 of p > 0.5 with a 1-px matching tolerance (max-pool dilation)."""
    pred = torch.sigmoid(logits) > 0.5
    near_gt = F.max_pool2d(gt, 3, 1, 1) > 0.5
    near_pred = F.max_pool2d(pred.float(), 3, 1, 1) > 0.5
    precision = (pred & near_gt).sum() / pred.sum().clamp_min(1)
    recall = ((gt > 0.5) & near_pred).sum() / (gt > 0.5).sum().clamp_min(1)
    f1 = 2 * precision * recall / (precision + recall).clamp_min(1e-9)
    return {"ob_f1_tol1": f1.item(), "ob_precision": precision.item(), "ob_recall": recall.item()}


@torch.no_grad()
def validate(model: torch.nn.Module, dataset, config, batch_size: int = 4) -> dict[str, float]:
    """Mean monitors over the first ``config.data.val_images`` validation frames."""
    model.eval()
    device = next(model.parameters()).device
    n = min(config.data.val_images, len(dataset))
    sums: dict[str, float] = {}
    for start in range(0, n, batch_size):
        items = [dataset[i] for i in range(start, min(n, start + batch_size))]
        batch = {k: torch.stack([it[k] for it in items]).to(device) for k in items[0]}
        out = model(batch["rgb"])
        values: dict[str, float] = {}
        if out.depth_params is not None:
            values |= _depth_monitors(out.depth_params, batch, config)
        if out.boundary_logits is not None:
            values |= _boundary_monitors(out.boundary_logits.float(), batch["boundary"])
        for key, value in values.items():
            sums[key] = sums.get(key, 0.0) + value * len(items)
    return {k: v / n for k, v in sums.items()}

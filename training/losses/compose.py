"""Loss composition per model variant (DESIGN.md "Losses"; modot.md §2; mixture_depth.md §2.5).

* depth (single task): SILog on the regression head; on the mixture head the assigned mixture
  loss (near/far components, ``losses.assigned_mixture_loss``) or, for comparison, the plain NLL.
* boundary (single task): class-balanced BCE on the side outputs and the final OB map.
* joint / modot: both; OBDCL is added when ``loss.obdcl_weight > 0`` (the modot configs).
* supervised depth, any head: ``loss.gradient_weight > 0`` adds multi-scale gradient matching
  (``losses.gradient``) on the read-out depth, logged as ``depth_grad``.
* OB labels may be NaN (real sources: unknown pixels, or a whole sample trained depth only);
  such pixels and samples are left out of the OB terms.
* self-supervised: the depth term is the photometric loss on the sequence frames with exact
  poses (mixture or single-depth form), OBs keep their BCE on the rendered labels; samples with a
  known camera height add ``losses.camera_height`` (metric scale for video without /tf); with
  ``loss.replay_depth_weight > 0`` samples that carry GT depth (a replayed engine's frames) add
  their supervised term too (``training.adapt``'s video kinds: it anchors the learnt rooms).

The network predicts *canonical* inverse depth (``modot_ros.model.canonical``): GT depth is
converted to canonical depth with the crop's fx before the supervised losses, and predicted
inverse depth is converted to metric inverse depth before warping.
"""
from __future__ import annotations

import torch

from modot_ros import mixture
from modot_ros.config import ModelConfig
from modot_ros.model.canonical import canonical_scale, to_canonical_depth
from modot_ros.model.network import NetworkOutput
from training.losses.boundary import balanced_bce_loss, obdcl_loss
from training.losses.camera_height import camera_height_loss
from training.losses.config import LossConfig
from training.losses.depth import silog_loss
from training.losses.gradient import gradient_matching_loss
from training.losses.mixture import assigned_mixture_loss, mixture_nll_loss
from training.losses.photometric import multiscale_photometric_loss


def batch_scale(K: torch.Tensor, model: ModelConfig) -> torch.Tensor:
    """Canonical->metric depth factor per image (B,) from the network-input intrinsics."""
    return canonical_scale(K[:, 0, 0].float(), model.canonical_focal)


def _depth_terms(params: torch.Tensor, batch: dict, model: ModelConfig, loss: LossConfig,
                 supervision: str) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    size = batch["rgb"].shape[-2:]
    params = mixture.resize_params(params, size)
    if supervision == "self_supervised":
        value, terms = _photometric(params, batch, model, loss)
        if loss.replay_depth_weight > 0:
            known, known_terms = _known_depth(params, batch, model, loss)
            value, terms = value + loss.replay_depth_weight * known, terms | known_terms
        return value, terms
    gt = to_canonical_depth(batch["depth"], batch["K"][:, 0, 0].float(), model.canonical_focal)
    value, terms = _supervised(params, gt, loss)
    if loss.gradient_weight > 0:
        grad = gradient_matching_loss(predicted_depth(params, size), gt)
        value, terms = value + loss.gradient_weight * grad, terms | {"depth_grad": grad.detach()}
    return value, terms


def _supervised(params: torch.Tensor, gt: torch.Tensor,
                loss: LossConfig) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The depth head's own supervised term against canonical GT depth."""
    if mixture.is_mixture(params) and loss.mixture_loss == "assigned":
        value, parts = assigned_mixture_loss(params, gt, loss.variance_focus, loss.readout_weight,
                                             loss.assignment_weight, loss.edge_window,
                                             loss.edge_jump, balanced=loss.balance_samples)
        return loss.depth_weight * value, {f"depth_{k}": v for k, v in parts.items()}
    if mixture.is_mixture(params):
        mu, sigma, weights = mixture.split(params)
        value = mixture_nll_loss(mu, sigma, weights, gt)
        return loss.depth_weight * value, {"depth_nll": value.detach()}
    value = silog_loss(1.0 / params, gt, variance_focus=loss.variance_focus,
                       scale=loss.silog_scale, balanced=loss.balance_samples)
    return loss.depth_weight * value, {"depth_silog": value.detach()}


def _known_depth(params: torch.Tensor, batch: dict, model: ModelConfig,
                 loss: LossConfig) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Self-supervised batches: the supervised term on the samples with any GT depth (replay)."""
    known = torch.isfinite(batch["depth"]).flatten(1).any(1)
    if not known.any():
        return params.new_zeros(()), {}
    gt = to_canonical_depth(batch["depth"][known], batch["K"][known, 0, 0].float(), model.canonical_focal)
    value, terms = _supervised(params[known], gt, loss)
    return value, {f"replay_{k}": v for k, v in terms.items()}


def _photometric(params: torch.Tensor, batch: dict, model: ModelConfig,
                 loss: LossConfig) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    # metric inverse depth = canonical inverse depth / scale (sigma scales the same way)
    inv_scale = 1.0 / batch_scale(batch["K"], model).view(-1, 1, 1, 1)
    sources = list(batch["sources"].unbind(1))
    poses = list(batch["T_source_from_target"].float().unbind(1))
    if mixture.is_mixture(params):
        mu, sigma, weights = mixture.split(params)
        head = (mu * inv_scale, sigma * inv_scale, weights)
    else:
        head = params * inv_scale
    value, terms = multiscale_photometric_loss(batch["rgb"], sources, [head], batch["K"].float(),
                                               poses, loss.photometric)
    logged = {f"photo_{k}": torch.as_tensor(v).detach() for k, v in terms.items()
              if k in ("photo", "sigma", "alpha", "smooth", "automask_keep")}
    total = loss.depth_weight * value
    if "camera_height" in batch and loss.camera_height_weight > 0:
        depth = predicted_depth(params, batch["rgb"].shape[-2:]) / inv_scale
        height, height_terms = camera_height_loss(depth, batch["K"].float(), batch["camera_height"].float())
        total, logged = total + loss.camera_height_weight * height, logged | height_terms
    return total, logged


def predicted_depth(params: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Canonical depth of the dominant mode (differentiable through the chosen mean)."""
    return 1.0 / mixture.dominant_inverse_depth(mixture.resize_params(params, size))


def _labelled(boundary: torch.Tensor) -> torch.Tensor:
    """(B,) True for samples with any OB label; a source trained with ``ob: none`` is all NaN.

    Unlabelled samples are left out of the OB terms entirely, so they change neither the BCE's
    class balance (pooled over the batch) nor OBDCL's normalisation; NaN pixels of labelled
    samples (unknown near depth holes) are ignored inside ``balanced_bce_weights``.
    """
    return ~torch.isnan(boundary).flatten(1).all(1)


def compose_loss(out: NetworkOutput, batch: dict, model: ModelConfig, loss: LossConfig,
                 supervision: str, step: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Total loss of one batch and its named (detached) terms for logging."""
    total = batch["rgb"].new_zeros(())
    terms: dict[str, torch.Tensor] = {}
    if out.depth_params is not None:
        value, logged = _depth_terms(out.depth_params, batch, model, loss, supervision)
        total, terms = total + value, terms | logged
    labelled = _labelled(batch["boundary"])
    if out.boundary_logits is not None:
        logits = [z[labelled] for z in (*out.boundary_side_logits, out.boundary_logits)]
        weights = loss.side_weights[-len(logits):]
        if labelled.any():
            value = balanced_bce_loss(logits, batch["boundary"][labelled], weights, loss.bce_neg_lambda)
        else:  # a zero that keeps the OB head in the graph (DDP expects every parameter used)
            value = sum(z.sum() for z in logits) * 0.0
        total = total + loss.ob_weight * value
        terms["ob_bce"] = value.detach()
    use_obdcl = loss.obdcl_weight > 0 and step >= loss.obdcl_start_step
    if use_obdcl and out.depth_params is not None and model.predicts_boundary and labelled.any():
        depth = predicted_depth(out.depth_params, batch["rgb"].shape[-2:])
        value = obdcl_loss(depth[labelled], batch["boundary"][labelled], loss.obdcl_form,
                           loss.obdcl_smooth, loss.obdcl_saturation)
        total = total + loss.obdcl_weight * value
        terms["obdcl"] = value.detach()
    terms["total"] = total.detach()
    return total, terms

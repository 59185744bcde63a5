"""Training losses for modot_ros: one module per idea, re-exported here as the one import site.

* ``common``: the input error, shape check, GT validity mask, neighbour shifts;
* ``config``: ``LossConfig`` (weights and options of every term);
* ``depth``: SILog; ``gradient``: multi-scale log-depth gradient matching (MiDaS);
  ``boundary``: class-balanced BCE and OBDCL; ``mixture``: the plain and the assigned
  (near/far) mixture losses;
* ``photometric`` / ``reprojection``: the self-supervised photometric losses and their warping;
* ``compose``: which terms train which model variant (the trainer calls ``compose_loss``).

Every loss works on batched ``(B, C, H, W)`` torch tensors on any device and returns a scalar
tensor. Ground-truth depth is metres with NaN (or <= 0) marking invalid pixels. Formulas are
restated from the digests in ``/work/shared/reference/``: ``modot.md`` §2 (SILog, class-balanced
BCE, OBDCL) and §8.6 (OBDCL fixes), ``mixture_depth.md`` §6 / §8.C.5 (supervised mixture NLL).
"""
from training.losses.boundary import balanced_bce_loss, balanced_bce_weights, obdcl_loss
from training.losses.common import LossInputError, valid_depth_mask
from training.losses.config import DEFAULT_SIDE_WEIGHTS, MIXTURE_LOSSES, LossConfig, ObdclForm
from training.losses.depth import silog_loss
from training.losses.gradient import gradient_matching_loss
from training.losses.mixture import (EdgeSurfaces, assigned_mixture_loss, edge_surfaces,
                                     mixture_nll_loss)
from training.losses.photometric import (PhotometricConfig, depth_photometric_loss,
                                         mixture_photometric_loss, multiscale_photometric_loss)

__all__ = ["DEFAULT_SIDE_WEIGHTS", "MIXTURE_LOSSES", "EdgeSurfaces", "LossConfig",
           "LossInputError", "ObdclForm", "PhotometricConfig", "assigned_mixture_loss",
           "balanced_bce_loss", "balanced_bce_weights", "depth_photometric_loss", "edge_surfaces",
           "gradient_matching_loss",
           "mixture_nll_loss", "mixture_photometric_loss", "multiscale_photometric_loss",
           "obdcl_loss", "silog_loss", "valid_depth_mask"]

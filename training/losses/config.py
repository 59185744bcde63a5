"""``LossConfig``: weights and options of every training loss term."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from training.losses.common import LossInputError
from training.losses.photometric import PhotometricConfig

ObdclForm = Literal["original", "improved"]
MIXTURE_LOSSES = ("assigned", "nll")
# Side weights (side0..side3, final) for synthetic data, modot.md §2 table.
DEFAULT_SIDE_WEIGHTS: tuple[float, ...] = (0.1, 0.3, 0.3, 0.5, 2.3)


@dataclass(frozen=True)
class LossConfig:
    """Weights and options of every training loss term (the trainer composes them).

    Attributes
    ----------
    depth_weight: lambda_d on SILog or on the mixture NLL (modot.md §2: 1.2).
    variance_focus: SILog lambda in [0, 1]; 1 makes it fully scale invariant (§2.1: 0.85).
    silog_scale: factor on the SILog square root; MoDOT uses 1 (no x10, §2.1).
    ob_weight: lambda_ob on the summed OB BCE terms (§2: 1.0 synthetic, 5.0 NYUD).
    side_weights: beta_k per OB output in list order [side0..side3, final] (§2).
    bce_neg_lambda: lambda_neg in w- = 1.1 * lambda_neg * N+/N
        (§2.2: 1.1 Hypersim/NYUD, 1.7 OB-FUTURE).
    obdcl_weight: multiplier on the OBDCL total (the 0.1 inner weights are in obdcl_loss).
    obdcl_form: "original" reproduces §2.3; "improved" applies the §8.6 fixes.
    obdcl_smooth: include the off-boundary smoothness term (off for Hypersim in §2). It is not
        edge-aware (it smooths across texture and any unlabelled depth edge), so it is off.
    obdcl_saturation: jump size at which the discontinuity penalty vanishes; None = 1 depth
        unit for "original", 0.1 log-depth (about 10 % relative jump) for "improved".
    obdcl_start_step: training step from which OBDCL is switched on (§2, §8.5).
    ob_start_step: training step from which the OB branch is trained (BCE on) and run in the
        forward pass: depth first, then joint. Before it only the depth loss trains.
    mixture_loss: "assigned" (explicit near/far component assignment, see
        ``assigned_mixture_loss``) or "nll" (the plain mixture NLL, which collapses to one
        component: kept for comparison).
    readout_weight: weight of the log-depth (SILog) term on the component the read-out should
        pick; its variance focus is ``variance_focus``.
    assignment_weight: weight of the BCE that trains w_1 toward the GT assignment.
    edge_window: window (px, odd) in which a pixel's near and far surfaces are looked up.
    edge_jump: depth ratio between 4-neighbours that marks a depth edge for the assignment.
    photometric: options of the self-supervised mixture photometric loss.
    camera_height_weight: weight of |log(h_est / h_known)| on samples of bag sources with a
        ``camera_height_m`` (``losses.camera_height``): metric scale for video without /tf.
    gradient_weight: weight of the multi-scale log-depth gradient matching term
        (``losses.gradient``, MiDaS) on the depth the network reads out (the dominant component
        of the mixture head); supervised runs only, logged as ``depth_grad``; 0: off.
    balance_samples: the supervised depth terms weigh every sample of a batch equally instead
        of every valid pixel (``common.sample_balanced_weights``): a frame with 500 measured
        points then counts as much as a rendered frame with 76,800. Off reproduces the shipped
        legs (pixels pooled over the batch); ``training.adapt`` turns it on.
    replay_depth_weight: self-supervised runs: weight of the supervised depth term on the
        samples that carry GT depth (a replayed engine's frames; a recording's video has none),
        added to their photometric term. It holds the rooms the network learnt and its metric
        scale while video teaches a new room; logged as ``replay_*``; 0: off (photometric only).

    """

    depth_weight: float = 1.2
    variance_focus: float = 0.85
    silog_scale: float = 1.0
    ob_weight: float = 1.0
    side_weights: tuple[float, ...] = DEFAULT_SIDE_WEIGHTS
    bce_neg_lambda: float = 1.1
    obdcl_weight: float = 1.0
    obdcl_form: ObdclForm = "improved"
    obdcl_smooth: bool = False
    obdcl_saturation: float | None = None
    obdcl_start_step: int = 0
    ob_start_step: int = 0
    mixture_loss: str = "assigned"
    readout_weight: float = 1.0
    assignment_weight: float = 1.0
    edge_window: int = 5
    edge_jump: float = 1.1
    photometric: PhotometricConfig = PhotometricConfig()
    camera_height_weight: float = 0.1
    gradient_weight: float = 0.0
    balance_samples: bool = False
    replay_depth_weight: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.variance_focus <= 1.0:
            raise LossInputError(f"variance_focus={self.variance_focus} must be in [0, 1]")
        if self.obdcl_form not in ("original", "improved"):
            raise LossInputError(f"obdcl_form={self.obdcl_form!r}; use 'original' or 'improved'")
        if self.mixture_loss not in MIXTURE_LOSSES:
            raise LossInputError(f"mixture_loss={self.mixture_loss!r}; use one of {MIXTURE_LOSSES}")
        if self.edge_window < 3 or self.edge_window % 2 == 0 or self.edge_jump <= 1.0:
            raise LossInputError(f"edge_window={self.edge_window} must be odd >= 3 and "
                                 f"edge_jump={self.edge_jump} > 1")
        if self.camera_height_weight < 0:
            raise LossInputError(f"camera_height_weight={self.camera_height_weight} must be >= 0")
        if not self.replay_depth_weight >= 0:  # NaN fails too
            raise LossInputError(f"replay_depth_weight={self.replay_depth_weight} must be >= 0")
        if not self.gradient_weight >= 0:  # NaN fails too
            raise LossInputError(f"gradient_weight={self.gradient_weight} must be >= 0")
        if any(w < 0 for w in self.side_weights) or not self.side_weights:
            raise LossInputError(f"side_weights={self.side_weights} must be non-empty and >= 0")

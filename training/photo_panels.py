"""Depth and OB panels on real photographs (scikit-image's bundled images), old vs new weights.

    python -m training.photo_panels --checkpoint build/runs/recipe_lite0/final.pt \
        --compare modot_ros/weights/modot_lite0.pt --output docs/photos

No real photo has ground truth here, so this is a picture, not a metric: does an object stand
out from its background in depth, and does the depth edge follow the OB map. The camera is
assumed to have fx = 0.8 * width (about a 64 deg horizontal field of view). Note that several of
these photos are also texture tiles of the synthetic world (training/data/synth/textures.py), pasted
flat onto surfaces, so the network has never seen them as *scenes*.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "motorcycle")


def load_photo(name: str) -> np.ndarray:
    """RGB uint8 of a scikit-image sample (``motorcycle``: the left view of its stereo pair)."""
    import skimage.data as data
    image = data.stereo_motorcycle()[0] if name == "motorcycle" else getattr(data, name)()
    image = np.asarray(image)
    return np.repeat(image[..., None], 3, 2) if image.ndim == 2 else image[..., :3].copy()


def photo_intrinsics(image: np.ndarray):
    from modot_ros.geometry import CameraIntrinsics
    h, w = image.shape[:2]
    f = 0.8 * w
    return CameraIntrinsics(fx=f, fy=f, cx=(w - 1) / 2, cy=(h - 1) / 2, width=w, height=h)


def _columns(image, estimators: dict) -> list:
    from modot_ros.evaluation.plots import colorize_inverse_depth
    columns = [("photo", image)]
    first = None
    for label, estimator in estimators.items():
        pred = estimator.predict(image, photo_intrinsics(image))
        lo, hi = np.nanpercentile(pred.depth, [5, 95])
        columns.append((f"{label} depth {lo:.1f}-{hi:.1f} m", colorize_inverse_depth(pred.depth)))
        first = first or pred
    if first is not None and first.boundary is not None:
        columns.append(("OB probability", first.boundary.astype(np.float32)))
    return columns


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True, help="runtime checkpoint to show")
    parser.add_argument("--compare", help="second checkpoint shown beside it (e.g. the old weights)")
    parser.add_argument("--output", default="build/photos", help="folder for the JPEG panels")
    parser.add_argument("--photos", nargs="*", default=list(PHOTOS))
    args = parser.parse_args(argv)
    import torch

    from modot_ros.evaluation.plots import save_panel
    from modot_ros.inference import DepthBoundaryEstimator
    torch.set_num_threads(2)
    estimators = {"new": DepthBoundaryEstimator.from_checkpoint(args.checkpoint, device="cpu")}
    if args.compare:
        estimators["old"] = DepthBoundaryEstimator.from_checkpoint(args.compare, device="cpu")
    out = Path(args.output)
    for name in args.photos:
        image = load_photo(name)
        scale = 320 / image.shape[1]  # panels at the network's width keep the PNGs small
        import cv2
        image = cv2.resize(image, (320, int(round(image.shape[0] * scale))),
                           interpolation=cv2.INTER_AREA)
        path = save_panel(out / f"{name}.jpg", _columns(image, estimators))  # JPEG: photographs
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Sparse Guo-Hall thinning (MATLAB ``bwmorph(..., 'thin', inf)``), fast on edge maps.

``skimage.morphology.thin`` implements the same algorithm but touches every pixel of the
image on every sub-iteration; the BSDS protocol thins 99 thresholded maps per image, and
edge maps hold only a few percent of the pixels, so here only the foreground pixels are
visited. The deletion table is derived from the published conditions (Guo & Hall 1989,
as documented for bwmorph); tests check equality with ``skimage.morphology.thin``.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage


def _guo_hall_tables() -> tuple[np.ndarray, np.ndarray]:
    """Deletion look-up tables for the two sub-iterations, indexed by the 8-bit neighbour code.

    Bit k-1 of the code is neighbour x_k, numbered from east counter-clockwise
    (x1=E, x2=NE, x3=N, x4=NW, x5=W, x6=SW, x7=S, x8=SE).
    """
    code = np.arange(256)
    x = [None] + [((code >> k) & 1).astype(bool) for k in range(8)]
    x.append(x[1])  # x9 = x1 closes the ring
    crossings = sum((~x[2 * i - 1]) & (x[2 * i] | x[2 * i + 1]) for i in range(1, 5))
    n1 = sum(x[2 * k - 1] | x[2 * k] for k in range(1, 5))
    n2 = sum(x[2 * k] | x[2 * k + 1] for k in range(1, 5))
    g12 = (crossings == 1) & (np.minimum(n1, n2) >= 2) & (np.minimum(n1, n2) <= 3)
    g3 = ~((x[2] | x[3] | ~x[8]) & x[1])
    g3p = ~((x[6] | x[7] | ~x[4]) & x[5])
    return g12 & g3, g12 & g3p


_LUT_FIRST, _LUT_SECOND = _guo_hall_tables()


def _distinct(indices: np.ndarray, slot: np.ndarray) -> np.ndarray:
    """``indices`` without repeats, in O(n) through a scratch array (any one copy survives)."""
    order = np.arange(indices.size)
    slot[indices] = order
    return indices[slot[indices] == order]


def thin(mask: np.ndarray) -> np.ndarray:
    """Thin a binary (H, W) mask (non-zero = foreground) to 8-connected one-pixel-wide curves.

    Iterates to convergence and returns an (H, W) bool mask that is a subset of ``mask``.
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2:
        raise ValueError(f"thin expects a 2-D mask, got shape {mask.shape}")
    padded = np.pad(mask, 1).astype(np.uint8)
    flat = padded.ravel()
    _thin_padded(flat, mask.shape[1] + 2, np.flatnonzero(flat))
    return padded[1:-1, 1:-1].astype(bool)


def _thin_padded(flat: np.ndarray, stride: int, start: np.ndarray) -> None:
    """Thin in place the foreground of a zero-bordered image (uint8, raveled rows of ``stride``).

    ``start``: the foreground pixels to examine first; every pixel that may become deletable lies
    in them or next to a deletion, so the other pixels of ``flat`` are never touched.
    """
    # Flat offsets of x1..x8 (E, NE, N, NW, W, SW, S, SE) in the padded image.
    offsets = np.array([1, 1 - stride, -stride, -stride - 1, -1, stride - 1, stride, stride + 1])
    weights = (1 << np.arange(8)).astype(np.int32)
    window = np.concatenate([offsets, [0]])
    slot = np.empty(flat.size, dtype=np.int64)
    # A pixel's decision depends only on its 3x3 window, so after the first full pass only
    # pixels next to a deletion are looked at again, per sub-iteration table. Work lists of
    # those pixels (not flags scanned over the whole foreground) make a sub-iteration cost the
    # moving front only: a solid blob takes hundreds of sub-iterations.
    todo = [start] * 2
    while todo[0].size or todo[1].size:
        for which, lut in enumerate((_LUT_FIRST, _LUT_SECOND)):
            work = todo[which][flat[todo[which]] != 0]
            todo[which] = work[:0]
            if work.size == 0:
                continue
            codes = flat[work[:, None] + offsets[None, :]].astype(np.int32) @ weights
            delete = work[lut[codes]]
            if delete.size:
                flat[delete] = 0  # parallel deletion: codes were read before writing
                touched = _distinct((delete[:, None] + window[None, :]).ravel(), slot)
                todo[which] = touched
                todo[1 - which] = _distinct(np.concatenate([todo[1 - which], touched]), slot)


def thin_levels(values: np.ndarray, levels: np.ndarray) -> list[np.ndarray]:
    """Flat indices of ``thin(values >= t)`` for each t in ``levels`` (the BSDS thresholded maps).

    The maps are nested, and thinning treats each 8-connected component on its own (no pixel of
    one is in the 3x3 window of another's). So the components of the lowest level's map are
    labelled once, and from one level to the next only the components that lost pixels are
    reset to their pixels at the new level and thinned again, in one image that keeps the other
    components' thinned pixels.
    """
    order = np.argsort(levels, kind="stable")
    h, w = values.shape
    flat_values = values.ravel()
    base = values >= levels[order[0]]
    labels, n = ndimage.label(base, structure=np.ones((3, 3), bool))
    flat_labels = labels.ravel()
    foreground = np.flatnonzero(base)
    by_label = foreground[np.argsort(flat_labels[foreground], kind="stable")]
    starts = np.searchsorted(flat_labels[by_label], np.arange(1, n + 2))
    padded = np.pad(base, 1).astype(np.uint8)
    flat = padded.ravel()
    to_padded = lambda i: i + (i // w) * 2 + w + 3  # noqa: E731  (row r -> r+1, column c -> c+1)
    _thin_padded(flat, w + 2, to_padded(foreground))
    out: list[np.ndarray] = [np.empty(0, np.int64)] * len(levels)
    below = levels[order[0]]
    for rank, k in enumerate(order):
        dropped = foreground[(flat_values[foreground] >= below) & (flat_values[foreground] < levels[k])]
        below = levels[k]
        if dropped.size:
            pixels = np.concatenate([by_label[starts[i - 1]:starts[i]] for i in np.unique(flat_labels[dropped])])
            kept = pixels[flat_values[pixels] >= levels[k]]
            flat[to_padded(pixels)] = 0
            flat[to_padded(kept)] = 1
            _thin_padded(flat, w + 2, to_padded(kept))
        thinned = np.flatnonzero(flat)
        out[k] = thinned - (thinned // (w + 2)) * 2 - w - 1  # back to unpadded indices
    return out

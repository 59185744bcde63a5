"""Point the ROS wheels' exported CMake files at this interpreter's Python and numpy headers.

The PyPI ROS 2 wheels were built in a manylinux image whose Python lives in /opt/python/cp311-cp311;
their *Export.cmake files keep that include path, so building our messages against them fails
until the paths name this venv's interpreter (ENVIRONMENT.md). Idempotent.
"""
import pathlib
import sys
import sysconfig

import numpy

BUILDER_PYTHON = "/opt/python/cp311-cp311"


def main() -> int:
    prefix = pathlib.Path(sys.prefix)
    replacements = {
        f"{BUILDER_PYTHON}/lib/python3.11/site-packages/numpy/_core/include": numpy.get_include(),
        f"{BUILDER_PYTHON}/include/python3.11": sysconfig.get_paths()["include"],
    }
    changed = 0
    for path in (prefix / "share").rglob("*.cmake"):
        text = path.read_text()
        if BUILDER_PYTHON not in text:
            continue
        for old, new in replacements.items():
            text = text.replace(old, new)
        path.write_text(text)
        changed += 1
    print(f"fix_ros_wheel_cmake: rewrote {changed} CMake files under {prefix / 'share'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

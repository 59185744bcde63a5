"""Packaging: the repo builds as a ROS 2 workspace with colcon (messages + Python package)."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


@pytest.mark.slow
def test_colcon_builds_messages_and_package(tmp_path):
    """`colcon build` against a ROS 2 install (the venv's PyPI ROS) builds and installs both packages."""
    colcon = shutil.which("colcon", path=str(VENV_BIN))
    if colcon is None:
        pytest.skip("colcon is not installed in this environment")
    source = tmp_path / "src" / "modot_ros"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True,
                           text=True, check=True).stdout.split()
    for name in files:
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    env = dict(os.environ, PATH=f"{VENV_BIN}:{os.environ['PATH']}", CMAKE_PREFIX_PATH=str(Path(sys.prefix)),
               AMENT_PREFIX_PATH=str(Path(sys.prefix)), VIRTUAL_ENV=str(Path(sys.prefix)))
    result = subprocess.run(
        [colcon, "build", "--base-paths", "src", "src/modot_ros/msg", "--event-handlers", "console_cohesion-",
         "--cmake-args", "-DBUILD_TESTING=OFF", f"-DPython3_EXECUTABLE={sys.executable}"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    install = tmp_path / "install"
    assert list(install.glob("modot_ros_msgs/lib/python3*/site-packages/modot_ros_msgs/msg/_depth_boundary.py"))
    assert (install / "modot_ros" / "share" / "modot_ros" / "package.xml").is_file()
    assert (install / "modot_ros" / "lib" / "modot_ros" / "modot_node").is_file()
    assert (install / "modot_ros" / "share" / "ament_index" / "resource_index" / "packages" / "modot_ros").is_file()

#!/usr/bin/env bash
# Create/refresh .venv from the project's pinned files. Idempotent: each step keeps a stamp of
# its inputs and is skipped when they have not changed, so a second run takes about a second.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv
PY=${PYTHON:-python3}

stamp_ok() {  # stamp_ok NAME FILES... : true when the stamp matches the files' hash
  local want; want=$(cat "${@:2}" | sha256sum | cut -d' ' -f1)
  [ -f "$VENV/.stamp-$1" ] && [ "$(cat "$VENV/.stamp-$1")" = "$want" ]
}
stamp_write() { cat "${@:2}" | sha256sum | cut -d' ' -f1 > "$VENV/.stamp-$1"; }

# open3d's CPU wheel links libusb; install it with apt when we are root and it is missing.
if ! ldconfig -p | grep -q "libusb-1.0.so.0"; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing libusb-1.0-0 (needed by open3d)"
    apt-get update -qq && apt-get install -y -qq libusb-1.0-0 >/dev/null
  else
    echo "setup: warning: libusb-1.0-0 is missing and we are not root; open3d will not import" >&2
  fi
fi

[ -x "$VENV/bin/python" ] || { echo "setup: creating $VENV"; "$PY" -m venv "$VENV"; }

if ! stamp_ok requirements requirements.txt; then
  echo "setup: installing pinned requirements (first run: a few minutes)"
  "$VENV/bin/python" -m pip install -q --upgrade "pip==25.3"
  "$VENV/bin/python" -m pip install -q -r requirements.txt
  stamp_write requirements requirements.txt
  rm -f "$VENV/.stamp-messages"  # new ROS wheels: rebuild our messages against them
fi

if ! stamp_ok messages msg/CMakeLists.txt msg/package.xml msg/msg/*.msg; then
  echo "setup: building modot_ros_msgs into $VENV"
  "$VENV/bin/python" scripts/fix_ros_wheel_cmake.py
  prefix=$(cd "$VENV" && pwd)
  rm -rf build/msgs && mkdir -p build
  # shellcheck disable=SC1091
  (source "$VENV/bin/activate" &&
    cmake -S msg -B build/msgs -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_PREFIX_PATH="$prefix" \
      -DBUILD_TESTING=OFF -DPython3_EXECUTABLE="$prefix/bin/python" >build/msgs.log 2>&1 &&
    cmake --build build/msgs -j2 >>build/msgs.log 2>&1 &&
    cmake --install build/msgs >>build/msgs.log 2>&1) || { echo "setup: message build failed, see build/msgs.log" >&2; tail -20 build/msgs.log >&2; exit 1; }
  stamp_write messages msg/CMakeLists.txt msg/package.xml msg/msg/*.msg
fi

if ! stamp_ok package setup.py setup.cfg package.xml; then
  echo "setup: installing modot_ros (editable)"
  "$VENV/bin/python" -m pip install -q --no-deps --no-build-isolation -e .
  stamp_write package setup.py setup.cfg package.xml
fi

# training/ is a dev-only package (not installed on robots): make it importable from the venv.
site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$(pwd)" > "$site/modot_repo.pth"

"$VENV/bin/python" -c "import rclpy, modot_ros_msgs.msg, modot_ros.pipeline.messages" \
  || { echo "setup: the environment does not import; delete .venv and run make setup again" >&2; exit 1; }
echo "setup: ready ($VENV)"

#!/usr/bin/env bash
# Run a command with DDS confined to this machine (ENVIRONMENT.md "DDS on these machines"):
# localhost-only discovery, a private domain id, logs in build/, and, where the OS allows it
# (root), a network namespace whose only interface is loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
export ROS_DOMAIN_ID=${ROS_DOMAIN_ID:-$(( (RANDOM % 100) + 100 ))}
export ROS_LOG_DIR=${ROS_LOG_DIR:-$(pwd)/build/ros_log}
export ROS_HOME=${ROS_HOME:-$(pwd)/build/ros_home}
# Fast DDS 2.x (Jazzy, Humble) reads only the old name, 3.x (Kilted) only the new one: set both.
export FASTRTPS_DEFAULT_PROFILES_FILE=${FASTRTPS_DEFAULT_PROFILES_FILE:-$(pwd)/config/fastdds_shm.xml}
export FASTDDS_DEFAULT_PROFILES_FILE=${FASTDDS_DEFAULT_PROFILES_FILE:-$FASTRTPS_DEFAULT_PROFILES_FILE}
mkdir -p "$ROS_LOG_DIR" "$ROS_HOME"
if [ "${MODOT_IN_LOOPBACK:-}" != 1 ] && unshare -n true 2>/dev/null; then
  export MODOT_IN_LOOPBACK=1
  exec unshare -n bash -c 'ip link set lo up && exec "$@"' bash "$@"
fi
[ "${MODOT_IN_LOOPBACK:-}" = 1 ] || echo "in_loopback: no network namespace here; relying on ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST" >&2
exec "$@"

"""Import boundaries of the installed package, read from the source (nothing is imported)."""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "modot_ros"
MODULES = sorted(PACKAGE.rglob("*.py"))
ROS_PACKAGE = PACKAGE / "ros"
# the ROS client library and the ROS message packages only a ROS install provides
ROS_ONLY = ("rclpy", "launch", "launch_ros", "sensor_msgs", "std_msgs", "diagnostic_msgs",
            "builtin_interfaces", "lifecycle_msgs", "rcl_interfaces", "modot_ros_msgs")


def imported_roots(path: Path) -> set[str]:
    """Top-level names of every module ``path`` imports, at any depth (lazy imports included)."""
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_installed_package_does_not_import_training(path):
    """Robots install modot_ros without training/, so nothing installed may import it."""
    assert "training" not in imported_roots(path)


@pytest.mark.parametrize("path", [p for p in MODULES if ROS_PACKAGE not in p.parents],
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_rclpy_only_under_ros(path):
    """Everything outside modot_ros/ros/ runs without a ROS install (bag tools, evaluation, tests)."""
    assert not imported_roots(path) & set(ROS_ONLY)


@pytest.mark.parametrize("folder", ["modot_ros", "training", "benchmarks", "scripts"])
def test_only_tests_import_tests(folder):
    """Test fixtures are not a library: benchmarks and tools build their data with the real writers."""
    root = PACKAGE.parent / folder
    offenders = [str(p.relative_to(PACKAGE.parent)) for p in sorted(root.rglob("*.py")) if "tests" in imported_roots(p)]
    assert not offenders

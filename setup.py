"""ament_python packaging of modot_ros (runtime only: training/ is not installed on robots)."""
from glob import glob

from setuptools import find_packages, setup

PACKAGE = "modot_ros"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(include=[PACKAGE, f"{PACKAGE}.*"]),
    package_data={PACKAGE: ["weights/*.pt"]},
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
        (f"share/{PACKAGE}/config", glob("config/*.yaml") + glob("config/*.rviz") + glob("config/*.xml")),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="modot_ros maintainers",
    maintainer_email="modot-ros@example.org",
    description="Monocular depth, occlusion boundaries and sharp-edged point clouds for ROS 2 (MoDOT + mixture depth).",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "modot_node = modot_ros.ros.node:main",
            "modot-eval-bag = modot_ros.evaluation.bag_evaluation:main",
            "modot-replay = modot_ros.ros.tools.replay:main",
            # a workstation tool: training/ is importable in the repository's venv (make setup), not on robots
            "modot-adapt = training.adapt:main",
        ],
    },
)

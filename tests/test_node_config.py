"""NodeConfig is the one source of the node's parameters: YAML, README and launch files agree.

The README table itself is checked with every other generated section in tests/test_docs.py.
"""
import ast
import py_compile
import re
from pathlib import Path

import pytest
import yaml

from modot_ros.pipeline.options import OutputOptions
from modot_ros.ros.node_config import FIELDS, NodeConfig, check_value, markdown_table, yaml_text

REPO = Path(__file__).resolve().parents[1]
LAUNCH = {name: REPO / "launch" / name for name in ("modot.launch.py", "replay.launch.py")}


def test_defaults_are_valid_and_build_output_options():
    """The shipped defaults start a working node; every output option comes from NodeConfig."""
    config = NodeConfig()
    assert config.validate() == []
    assert OutputOptions.from_config(config) == OutputOptions()


@pytest.mark.parametrize("changes, reason", [
    ({"edge_points": "blur"}, "edge_points='blur'; allowed: keep, drop, snap"),
    ({"occlusion_threshold": 1.5}, "occlusion_threshold=1.5 is outside [0.0, 1.0]"),
    ({"min_depth": 5.0, "max_depth": 2.0}, "min_depth=5.0 must be < max_depth=2.0"),
    ({"snap_window": 4}, "snap_window=4 must be odd"),
    ({"input_width": 100, "input_height": 96}, "input_width=100 must be a multiple of 16 (or 0)"),
    ({"input_width": 128}, "set both input_width and input_height, or neither (0)"),
    ({"device": "tpu"}, "device='tpu'; allowed: auto, cpu, cuda, cuda:N, gpu, gpu.N, npu"),
    ({"input_qos": "BEST"}, "input_qos='BEST'; allowed: SENSOR_DATA, DEFAULT, SYSTEM_DEFAULT"),
])
def test_validate_names_the_problem(changes, reason):
    """A wrong parameter is refused with a reason saying what is allowed."""
    assert reason in NodeConfig().replace(**changes).validate()


def test_check_value_types():
    """Type errors are caught before a value reaches the pipeline (bool is not an int)."""
    assert check_value("cloud_decimation", True) == "cloud_decimation must be a int, got True"
    assert check_value("max_depth", 10) is None
    assert check_value("nope", 1) == "unknown parameter 'nope'"


def test_yaml_file_holds_every_parameter_with_its_default():
    """config/modot.yaml can never drift from the node's declared defaults."""
    shipped = yaml.safe_load((REPO / "config" / "modot.yaml").read_text())["/**"]["ros__parameters"]
    assert shipped == {name: f.default for name, f in FIELDS.items()}
    assert yaml.safe_load(yaml_text())["/**"]["ros__parameters"] == shipped


def test_markdown_table_has_a_row_per_parameter():
    """The README table generator documents every parameter with type, default and meaning."""
    rows = markdown_table().splitlines()[2:]
    assert [re.match(r"\| `(\w+)`", row).group(1) for row in rows] == list(FIELDS)


def launch_arguments(path: Path) -> list[str]:
    """Names in the ARGUMENTS dict of a launch file (read with ast: launch is not installed here)."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "ARGUMENTS":
            return [key.value for key in node.value.keys]
    raise AssertionError(f"{path} has no ARGUMENTS dict")


@pytest.mark.parametrize("name", sorted(LAUNCH))
def test_launch_files_compile_and_declare_the_documented_arguments(name, tmp_path):
    """Launch files are valid Python and their arguments are the ones the docs promise."""
    py_compile.compile(str(LAUNCH[name]), cfile=str(tmp_path / "x.pyc"), doraise=True)
    arguments = launch_arguments(LAUNCH[name])
    docstring = ast.get_docstring(ast.parse(LAUNCH[name].read_text()))
    assert all(arg in docstring for arg in arguments)
    block = re.search(r"<!-- launch:begin -->\n(.*?)<!-- launch:end -->", (REPO / "README.md").read_text(), re.S)
    assert block is not None and name in block.group(1), f"README launch block does not document {name}"
    missing = [arg for arg in arguments if f"`{arg}`" not in block.group(1)]
    assert not missing, f"README lacks launch arguments {missing} of {name}"


def test_modot_launch_has_the_spec_arguments():
    """The node launch file offers what ros_anchors §8.6 asks for."""
    assert {"namespace", "image_topic", "camera_info_topic", "params_file", "model_path", "device",
            "use_sim_time", "log_level", "rviz", "use_lifecycle", "autostart"} <= set(
        launch_arguments(LAUNCH["modot.launch.py"]))


def test_launch_generates_with_launch_installed(tmp_path, monkeypatch):
    """On a ROS install, both launch descriptions build (skipped here: launch is not on PyPI)."""
    pytest.importorskip("launch_ros")
    import importlib.util

    from tests.ros_helpers.launch_run import ament_prefix
    monkeypatch.setenv("AMENT_PREFIX_PATH", str(ament_prefix(tmp_path / "prefix")))
    for path in LAUNCH.values():
        spec = importlib.util.spec_from_file_location(path.stem.replace(".", "_"), path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert module.generate_launch_description().entities


def test_rviz_config_shows_the_outputs():
    """The shipped RViz config displays depth, the mask, both cloud colourings and DepthCloud."""
    rviz = yaml.safe_load((REPO / "config" / "modot.rviz").read_text())
    displays = rviz["Visualization Manager"]["Displays"]
    classes = [d["Class"].split("/")[1] for d in displays]
    assert classes.count("Image") == 2 and classes.count("PointCloud2") == 2 and "DepthCloud" in classes
    colourings = {d.get("Color Transformer") + ":" + d.get("Channel Name", "") for d in displays
                  if d["Class"].endswith("PointCloud2")}
    assert colourings == {"RGB8:", "Intensity:boundary"}

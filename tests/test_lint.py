"""Lint as tests, with ament's checkers pinned to rclpy's distro (as ros2/examples does)."""
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PATHS = [str(REPO / p) for p in ("modot_ros", "training", "tests", "benchmarks", "scripts", "launch")]
LINE_LENGTH = "120"
# Our docstrings put the summary on the first line (D212 style) and may describe values
# ("The 3x3 camera matrix") rather than command; everything else pep257 checks applies.
PEP257_IGNORE = ["D213", "D401", "D403"]


@pytest.mark.linter
def test_flake8():
    """Code passes flake8 (pyflakes catches unused imports and undefined names)."""
    main_with_errors = pytest.importorskip("ament_flake8.main").main_with_errors
    rc, errors = main_with_errors(argv=["--linelength", LINE_LENGTH, *PATHS])
    assert rc == 0, f"flake8 found {len(errors)} problems:\n" + "\n".join(errors)


@pytest.mark.linter
def test_pep257():
    """Docstrings follow pep257 (with the project's summary-line convention)."""
    main = pytest.importorskip("ament_pep257.main").main
    # paths first: --add-ignore takes every argument after it, paths included (then "." is checked)
    assert main(argv=[*PATHS, "--add-ignore", *PEP257_IGNORE]) == 0, "pep257 problems: see the output above"

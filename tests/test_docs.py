"""The README and docs/ stay true: links resolve, named commands exist, generated sections are current.

A newcomer follows the README's links and copies its commands; a moved page, a renamed module or a
new node parameter must fail here rather than on their robot.
"""
import ast
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from modot_ros.pipeline.topics import TOPICS

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
PAGES = [README, *sorted((REPO / "docs").rglob("*.md"))]
# Pages of docs/ we write to one pattern; the experiment log keeps its own form.
TOPIC_PAGES = [p for p in PAGES if p.parent == REPO / "docs"]
# marker name -> (page, generator command): the section between the markers is that command's output
GENERATED = {
    "params": (README, ["-m", "modot_ros.ros.node_config", "--markdown"]),
    "status": (README, ["-m", "scripts.readme_status"]),  # from docs/status/*.json, each written by its row's command
}

FENCE = re.compile(r"^```.*?^```", re.S | re.M)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*$", re.M)
INLINE_CODE = re.compile(r"`([^`\n]+)`")
PYTHON_MODULE = re.compile(r"(?:\bpython3?|\btorchrun\b[^\n`]*?)[ \t]+-m[ \t]+([A-Za-z_][\w.]*)")
CONSOLE = re.compile(r"(?<![\w/-])(modot-[a-z][a-z-]*|modot_node)\b")
ROS2_RUN = re.compile(r"ros2 run modot_ros ([\w-]+)")
ROS2_LAUNCH = re.compile(r"ros2 launch modot_ros ([\w.]+)")
# make at a command position: line start, after && ; | or after VAR=value prefixes
MAKE = re.compile(r"(?:^[ \t$]*|[;&|][ \t]*)(?:[A-Z_]+=(?:\"[^\"]*\"|'[^']*'|\S+)[ \t]+)*make ([a-z][\w-]*)",
                  re.M)
MARKER = re.compile(r"<!-- (\w+):(begin|end) -->")
# a path inside the repository named in a command or code span (build/ outputs are not in it)
REPO_PATH = re.compile(r"(?<![\w./-])((?:modot_ros|training|tests|benchmarks|scripts|config|launch|docs|msg)/"
                       r"[\w./-]*[\w/])(?![\w*])")


def _rel(page: Path) -> str:
    return str(page.relative_to(REPO))


def prose(text: str) -> str:
    """The page without its fenced code blocks (their brackets and # lines are not Markdown)."""
    return FENCE.sub("", text)


def code(text: str) -> str:
    """Everything a reader may copy: fenced blocks and inline code spans."""
    return "\n".join([m.group(0) for m in FENCE.finditer(text)] + INLINE_CODE.findall(prose(text)))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*]|\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for heading in HEADING.findall(prose(page.read_text())):
        base = slug(heading)
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def links(page: Path) -> list[str]:
    return [t for t in LINK.findall(prose(page.read_text())) if not re.match(r"[a-z]+:", t)]


def resolve(page: Path, target: str) -> tuple[Path, str]:
    path, _, fragment = target.partition("#")
    return (page.parent / path).resolve() if path else page, fragment


def console_scripts() -> set[str]:
    """Executables setup.py installs (read with ast: no build needed)."""
    for node in ast.walk(ast.parse((REPO / "setup.py").read_text())):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if isinstance(key, ast.Constant) and key.value == "console_scripts":
                    return {ast.literal_eval(item).split("=")[0].strip() for item in value.elts}
    raise AssertionError("setup.py declares no console_scripts")


def runnable(module: str) -> str | None:
    """Why ``python -m module`` would fail, or None when it runs something."""
    try:
        spec = importlib.util.find_spec(module)
    except ModuleNotFoundError as error:
        return str(error)
    if spec is None:
        return "no such module"
    if spec.submodule_search_locations is not None:
        return None if importlib.util.find_spec(f"{module}.__main__") else "a package without __main__"
    if spec.origin and spec.origin.endswith(".py") and "__main__" not in Path(spec.origin).read_text():
        return "no __main__ block"
    return None


@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_every_relative_link_and_image_resolves(page):
    """A newcomer clicking through the README and docs/ never lands on a missing file or heading."""
    broken = []
    for target in links(page):
        path, fragment = resolve(page, target)
        if not path.exists():
            broken.append(f"{target} (no such file)")
        elif fragment and path.suffix == ".md" and fragment not in anchors(path):
            broken.append(f"{target} (no heading #{fragment} in {path.name})")
    assert not broken, f"{_rel(page)}: broken links {broken}"


def test_every_docs_page_is_reachable_from_the_readme():
    """No page of docs/ is an orphan: the README leads to each, directly or through other pages."""
    reached, todo = {README}, [README]
    while todo:
        page = todo.pop()
        for target in links(page):
            path, _ = resolve(page, target)
            if path.suffix == ".md" and path.exists() and path not in reached:
                reached.add(path)
                todo.append(path)
    assert not [_rel(p) for p in PAGES if p not in reached]


@pytest.mark.parametrize("page", TOPIC_PAGES, ids=_rel)
def test_each_docs_page_says_what_it_is_for_and_how_to_reproduce_it(page):
    """Each page opens with a title, a paragraph saying what it is for, and its commands early on."""
    lines = page.read_text().splitlines()
    assert lines[0].startswith("# ") and not lines[1].strip() and lines[2].strip() and \
        not lines[2].startswith(("#", "```", "|", "<!--")), f"{_rel(page)}: no opening paragraph under the title"
    sections = re.split(r"^## ", page.read_text(), flags=re.M)
    assert "```" in "".join(sections[:3]), f"{_rel(page)}: no command block in its opening or first two sections"


@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_every_named_command_exists(page):
    """Every python -m module, modot-* executable, ros2 run/launch target and make target is real."""
    text = code(page.read_text())
    scripts = console_scripts()
    targets = set(re.findall(r"^([\w-]+):", (REPO / "Makefile").read_text(), re.M))
    problems = [f"python -m {m}: {why}" for m in sorted(set(PYTHON_MODULE.findall(text)))
                if (why := runnable(m))]
    problems += [f"{name}: not a console script" for name in sorted(set(CONSOLE.findall(text) + ROS2_RUN.findall(text)))
                 if name not in scripts]
    problems += [f"launch/{name}: missing" for name in sorted(set(ROS2_LAUNCH.findall(text)))
                 if not (REPO / "launch" / name).is_file()]
    problems += [f"make {t}: no such target" for t in sorted(set(MAKE.findall(text))) if t not in targets]
    assert not problems, f"{_rel(page)}: {problems}"


@pytest.mark.parametrize("page", TOPIC_PAGES + [README], ids=_rel)
def test_every_repository_path_named_exists(page):
    """A file or folder the docs name (``modot_ros/scale/fit.py``, ``docs/photos``) is where they say."""
    named = {re.sub(r"(\.py)\.\w+$", r"\1", m) for m in REPO_PATH.findall(code(page.read_text()))}
    # modot_ros/evaluation/cloud_metrics.cloud_quality names a function in a module
    missing = sorted(m for m in named if not (REPO / m).exists() and not (REPO / f"{m.rsplit('.', 1)[0]}.py").is_file())
    assert not missing, f"{_rel(page)} names {missing}"


@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_markers_pair_up(page):
    """Every section marker opens and closes once, in that order."""
    stack, names = [], []
    for name, kind in MARKER.findall(page.read_text()):
        if kind == "begin":
            assert name not in names, f"{_rel(page)}: {name} opened twice"
            stack.append(name)
            names.append(name)
        else:
            assert stack and stack[-1] == name, f"{_rel(page)}: {name}:end without its begin"
            stack.pop()
    assert not stack, f"{_rel(page)}: unclosed {stack}"


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_sections_match_their_generators(name):
    """A generated section is exactly its generator's output, on the one page that holds it."""
    page, command = GENERATED[name]
    holders = [_rel(p) for p in PAGES if f"<!-- {name}:begin -->" in p.read_text()]
    assert holders == [_rel(page)], f"section {name} should be on {_rel(page)} only, is on {holders}"
    block = re.search(rf"<!-- {name}:begin -->\n(.*?)\n?<!-- {name}:end -->", page.read_text(), re.S)
    expected = subprocess.run([sys.executable, *command], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert block.group(1).strip() == expected.strip(), \
        f"{_rel(page)} section {name} is stale: paste the output of python {' '.join(command)}"


def test_readme_topic_table_lists_every_output_topic():
    """The README's topic table and the node's one topic table (pipeline/topics.py) agree."""
    table = prose(README.read_text())
    missing = [topic for topic in TOPICS if f"| `{topic}` |" not in table]
    assert not missing, f"README topic table lacks {missing}"

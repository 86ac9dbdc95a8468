"""The package's layers: the lesson API (``course_utils``) never imports the course machinery
(``course_utils.tools``) or its heavy tools, imports run one way with no cycle, and sit at the top."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "course_utils"
TOOLS_ONLY = ("course_utils.tools", "papermill", "optuna", "sphinx", "nbclient", "jupytext")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> list[tuple[str, ast.stmt, bool]]:
    """``(module, node, at_top)`` for every import of a course_utils module in ``path``."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    tree = ast.parse(path.read_text())
    top = set(map(id, tree.body))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            if not node.module:  # ``from . import a, b``: each name is a module
                found += [(f"{target}.{a.name}", node, id(node) in top) for a in node.names]
                continue
            found.append((target, node, id(node) in top))
        elif isinstance(node, ast.Import):
            found += [(a.name, node, id(node) in top) for a in node.names]
    return [(m, n, t) for m, n, t in found if m.startswith("course_utils")]


def graph() -> dict[str, set[str]]:
    """Module -> the course_utils modules it imports (the package ``__init__`` excluded)."""
    edges: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name in ("__init__.py", "__main__.py"):
            continue
        edges[module_name(path)] = {m for m, _, _ in imported_modules(path)}
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every import cycle found by a depth-first search (each reported once, from its first node)."""
    found, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    return found


def test_importing_the_lesson_api_loads_no_tool():
    code = (
        "import sys, course_utils\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {TOOLS_ONLY!r}"
        f" or m.startswith('course_utils.tools')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", f"import course_utils loaded: {out.stdout}"


def test_the_lesson_api_never_imports_the_tools():
    lesson = {m: deps for m, deps in graph().items() if not m.startswith("course_utils.tools")}
    assert len(lesson) > 10, sorted(lesson)
    upward = {
        m: sorted(d for d in deps if d.startswith("course_utils.tools"))
        for m, deps in lesson.items()
    }
    assert not {m: d for m, d in upward.items() if d}, upward


def test_no_import_cycle_anywhere():
    assert not cycles(graph())


def test_the_cycle_finder_finds_a_planted_cycle():
    planted = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(planted) == [["a", "b", "c", "a"]]


def test_imports_sit_at_the_top_unless_a_comment_says_why():
    """An import inside a function is allowed only for an optional or slow dependency, with a
    comment on its line saying why."""
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        lines = path.read_text().splitlines()
        tree = ast.parse("\n".join(lines))
        top = set(map(id, tree.body))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in top:
                if "#" not in lines[node.lineno - 1]:
                    bad.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert not bad, f"imports inside functions without a reason: {bad}"

"""The notebook catalogue: the course's notebooks in order, and their declared parameters.

``notebook_parameters`` reads the cell tagged ``parameters``; ``notebook_specs`` adds the allowed
values each notebook declares in its ``cu.setup(...)`` call; ``parse_overrides`` checks every
``-p NAME VALUE`` of a command line against both before anything runs.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from ..config import DATASETS, PROFILE_CHOICES
from ..params import Spec, choice, declared_specs, integer

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
RUNS = REPO / "runs"
TYPES = {"int": int, "float": float, "str": str, "bool": bool, "None": type(None)}


class CLIError(Exception):
    """A problem with the command line, reported before anything is executed."""


def add_parameter_option(parser, value_name: str, help_text: str) -> None:
    """``-p NAME VALUE`` (repeatable): a notebook parameter, for ``run`` and ``sweep``."""
    parser.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", value_name),
        help=help_text,
    )


@dataclass(frozen=True)
class Parameter:
    name: str
    annotation: str
    default: Any
    help: str

    @property
    def allowed(self) -> list[type]:
        """Python types the annotation allows (``float | None`` -> [float, NoneType])."""
        return [TYPES[t.strip()] for t in self.annotation.split("|") if t.strip() in TYPES]


def course_notebooks(suffix: str = ".ipynb") -> list[Path]:
    """The course's notebooks in order (``NN_topic.ipynb``, or their ``.py`` twins)."""
    return sorted(NOTEBOOKS.glob(f"[0-9][0-9]_*{suffix}"))


def resolve_notebook(name: str, suffix: str = ".ipynb") -> Path:
    """Accept a path, a file name, a stem or just the number (``07``)."""
    path = Path(name)
    if path.suffix == suffix and path.is_file():
        return path.resolve()
    for nb in course_notebooks(suffix):
        if path.stem in (nb.stem, nb.stem[:2]):
            return nb
    known = ", ".join(nb.stem for nb in course_notebooks(suffix))
    raise CLIError(f"notebook {name!r} not found; known notebooks: {known}")


def notebook_parameters(path: Path) -> list[Parameter]:
    """Parameters declared in the cell tagged ``parameters`` (``name: type = default  # help``)."""
    nb = nbformat.read(path, as_version=4)
    cells = [
        c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])
    ]
    if not cells:
        raise CLIError(f"{path.name} has no cell tagged 'parameters'")
    source = cells[0].source
    lines = source.splitlines()
    params = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            name, annotation = node.target.id, ast.unparse(node.annotation)
        elif (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            name, annotation = node.targets[0].id, ""
        else:
            continue
        default = ast.literal_eval(node.value) if node.value is not None else None
        if not annotation:
            annotation = type(default).__name__
        line = lines[node.lineno - 1]
        comment = line.split("#", 1)[1].strip() if "#" in line else ""
        params.append(Parameter(name, annotation, default, comment))
    return params


def notebook_specs(path: Path) -> dict[str, Spec]:
    """Allowed values of every parameter: the common ones, plus the notebook's ``setup(...)`` declaration."""

    nb = nbformat.read(path, as_version=4)
    specs: dict[str, Spec] = {
        "profile": choice(*PROFILE_CHOICES),
        "dataset": choice(*DATASETS),
        "seed": integer(0),
    }
    for cell in nb.cells:
        if cell.cell_type == "code" and "setup(" in cell.source:
            try:
                specs.update(declared_specs(cell.source))
            except SyntaxError:
                continue
    return specs


def coerce(param: Parameter, raw: str, notebook: str) -> Any:
    """Parse a command-line value and check it against the parameter's declared type."""
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw  # a bare word is a string
    allowed = param.allowed
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and float in allowed
        and int not in allowed
    ):
        value = float(value)
    if str in allowed and not isinstance(value, str) and type(value) not in allowed:
        value = raw
    if type(value) not in allowed:
        raise CLIError(
            f"parameter {param.name!r} of {notebook} is declared as {param.annotation} "
            f"but got {raw!r} (parsed as {type(value).__name__})"
        )
    return value


def parse_overrides(notebooks: list[Path], pairs: list[list[str]]) -> dict[Path, dict[str, Any]]:
    """Check every ``-p NAME VALUE`` against every selected notebook before anything runs."""
    per_notebook: dict[Path, dict[str, Any]] = {}
    for nb in notebooks:
        declared = {p.name: p for p in notebook_parameters(nb)}
        specs = notebook_specs(nb)
        values = {}
        for name, raw in pairs:
            if name not in declared:
                raise CLIError(
                    f"notebook {nb.stem} does not declare a parameter {name!r}; "
                    f"it declares: {', '.join(declared)}"
                )
            values[name] = coerce(declared[name], raw, nb.stem)
            if name in specs:
                specs[name].check(name, values[name])
        per_notebook[nb] = values
    return per_notebook

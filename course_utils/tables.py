"""Tables printed by the notebooks (``cu.table``) and by the course tools: rows of dicts as
aligned plain text."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def format_value(value: Any, floatfmt: str = ".4g") -> str:
    """A table cell: floats with ``floatfmt``, anything else as ``str``."""
    if isinstance(value, float):
        return format(value, floatfmt)
    return str(value)


def format_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str] | None = None,
    floatfmt: str = ".4g",
    left: Sequence[str] = (),
) -> str:
    """Rows of dicts as an aligned plain-text table (``columns``: which keys, in order; cells are
    right-aligned, those of the ``left`` columns left-aligned)."""
    rows = list(rows)
    columns = list(columns or (rows[0].keys() if rows else []))
    cells = [[format_value(r.get(c, ""), floatfmt) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += [
        "  ".join(v.ljust(w) if c in left else v.rjust(w) for c, v, w in zip(columns, row, widths))
        for row in cells
    ]
    return "\n".join(lines)


def table(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None, floatfmt: str = ".4g"
) -> None:
    """Print rows of dicts as an aligned table; returns None, so a cell can end with it."""
    print(format_table(rows, columns, floatfmt))

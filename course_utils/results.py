"""Record a notebook's metrics and tested claims as JSON, and collect a run's JSON into one table."""
from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from .validation import ParameterError, check_choice

VERDICTS = ("confirmed", "refuted", "partly confirmed", "depends", "inconclusive")


def verdict(holds: bool) -> str:
    """``'confirmed'`` if the measured condition holds, else ``'refuted'``."""
    return "confirmed" if holds else "refuted"


def _plain(value: Any) -> Any:
    """Turn numpy / torch scalars into JSON-friendly Python numbers."""
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class Results:
    """Metrics and claims of one notebook run; ``save()`` writes them to ``path`` (if given)."""

    def __init__(self, notebook: str, path: str | os.PathLike | None = None, profile: str | None = None) -> None:
        self.notebook, self.profile = notebook, profile
        self.path = Path(path) if path is not None else None
        self.metrics: dict[str, Any] = {}
        self.claims: list[dict[str, str]] = []

    def metric(self, name: str, value: Any) -> Any:
        """Record one metric (a number or short string) and return it."""
        self.metrics[name] = _plain(value)
        return value

    def claim(self, claim: str, measured: str, verdict: str) -> None:
        """Record a claim from the source notes with what was measured and the verdict; print it."""
        check_choice("verdict", verdict, VERDICTS)
        entry = {"claim": claim, "measured": measured, "verdict": verdict}
        self.claims = [c for c in self.claims if c["claim"] != claim] + [entry]
        print(f"CLAIM   : {claim}\nMEASURED: {measured}\nVERDICT : {verdict.upper()}\n")

    def as_dict(self) -> dict[str, Any]:
        return {"notebook": self.notebook, "profile": self.profile, "metrics": self.metrics, "claims": self.claims}

    def save(self) -> Path | None:
        """Write the JSON atomically to ``path``; returns the path (None when no path was given)."""
        if self.path is None:
            print(f"results of {self.notebook}: {len(self.metrics)} metrics, {len(self.claims)} claims (not saved: results_path is None)")
            return None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            json.dump(self.as_dict(), f, indent=2)
        os.replace(tmp, self.path)
        print(f"results saved to {self.path}")
        return self.path


def load_results(path: str | os.PathLike) -> dict[str, Any]:
    """Read one results JSON, checking its shape."""
    data = json.loads(Path(path).read_text())
    for key in ("notebook", "metrics", "claims"):
        if key not in data:
            raise ParameterError(f"results file {path} lacks the key {key!r}")
    return data


def collect(folder: str | os.PathLike) -> list[dict[str, Any]]:
    """All results JSON files in ``folder``, sorted by notebook name."""
    return sorted((load_results(p) for p in Path(folder).glob("*.json")), key=lambda r: r["notebook"])


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def markdown_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """A GitHub-flavoured markdown table; ``|`` in cells is escaped."""
    def cell(v: Any) -> str:
        return _fmt(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def summarize_metrics(metrics: dict[str, Any], limit: int = 6) -> str:
    """``name=value`` for the first ``limit`` metrics."""
    items = [f"{k}={_fmt(v)}" for k, v in list(metrics.items())[:limit]]
    return ", ".join(items) + (", ..." if len(metrics) > limit else "")


def summarize_claims(claims: list[dict[str, str]]) -> str:
    return "; ".join(f"{c['claim']} -> {c['verdict']} ({c['measured']})" for c in claims)

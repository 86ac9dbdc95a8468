"""Self-check helpers for exercises: say right or wrong, and why."""
from __future__ import annotations

from typing import Any

import numpy as np


def _report(ok: bool, name: str, why: str) -> bool:
    print(f"{'✅ correct' if ok else '❌ not yet'}: {name}" + ("" if ok else f" — {why}"))
    return ok


def check_close(name: str, answer: Any, expected: Any, *, rtol: float = 1e-6, atol: float = 1e-8, hint: str = "") -> bool:
    """True when ``answer`` matches ``expected`` elementwise within tolerance; prints the verdict."""
    if answer is None:
        return _report(False, name, "no answer yet (the function returned None)" + (f"; hint: {hint}" if hint else ""))
    a = np.asarray(answer.detach().cpu() if hasattr(answer, "detach") else answer, dtype=float)
    e = np.asarray(expected.detach().cpu() if hasattr(expected, "detach") else expected, dtype=float)
    if a.shape != e.shape:
        return _report(False, name, f"shape {a.shape} but expected {e.shape}")
    if np.allclose(a, e, rtol=rtol, atol=atol):
        return _report(True, name, "")
    worst = float(np.max(np.abs(a - e)))
    return _report(False, name, f"largest difference {worst:.3g} (tolerance rtol={rtol}, atol={atol})" + (f"; hint: {hint}" if hint else ""))


def check_equal(name: str, answer: Any, expected: Any, *, hint: str = "") -> bool:
    """True when ``answer == expected``; prints the verdict."""
    ok = answer == expected
    return _report(bool(ok), name, f"got {answer!r}, expected {expected!r}" + (f"; hint: {hint}" if hint else ""))


def check_true(name: str, condition: bool, why: str) -> bool:
    """Report a custom condition; ``why`` explains what is wrong when it fails."""
    return _report(bool(condition), name, why)

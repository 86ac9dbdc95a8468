"""IPython startup file of the nbval run: panels swept across their values, exercise checks logged.

``tests/conftest.py`` loads this module from a startup file in the kernels' ``$IPYTHONDIR`` and sets
``$COURSE_PANEL_LOG`` and ``$COURSE_CHECK_LOG``.

Panels. In a batch run a panel renders as a static note and never calls its
function, so without this sweep a panel whose function breaks at a slider's end would pass. Once
a notebook has imported ``course_utils.widgets``, every static panel it creates calls its function
a few times so that each control takes each of its values at least once (call i gives every
control its i-th value): every dropdown option, both checkbox states, and a slider's default and
low end, plus its high end for a live panel (a panel that trains behind a Run button stays at the
low end: a tiny size). Random states and torch's thread count are restored afterwards, so the rest
of the notebook computes what it would have computed; each call is one JSON line in the log (the
notebook, the panel's index in it, the values, the error if any).

Exercise checks. Every ``course_utils.exercises`` report (right or not yet) is one JSON line with
the source of the cell that made it, so a test can require each solution cell to say "correct".
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import sys
import time
import traceback

LOG_ENV = "COURSE_PANEL_LOG"
CHECK_ENV = "COURSE_CHECK_LOG"


def control_values(control, trains: bool) -> list:
    """The values one control takes in the sweep, its current value first."""
    default = control.value
    if hasattr(control, "options"):  # a dropdown: every option
        values = list(getattr(control, "_options_values", None) or control.options)
    elif isinstance(default, bool):
        values = [not default]
    elif hasattr(control, "base"):  # a log slider: min and max are exponents
        values = [control.base**control.min] + ([] if trains else [control.base**control.max])
    else:
        values = [control.min] + ([] if trains else [control.max])
    return [default] + [v for v in values if v != default]


@contextlib.contextmanager
def kept_state():
    """Random states and torch's thread count as they were before the sweep."""
    import numpy as np
    import torch

    states = random.getstate(), np.random.get_state(), torch.random.get_rng_state()
    threads = torch.get_num_threads()
    try:
        yield
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.random.set_rng_state(states[2])
        torch.set_num_threads(threads)


def notebook_name(namespace: dict) -> str:
    """The notebook's name, from its ``cu.Results`` (every notebook makes one before a panel)."""
    from course_utils.results import Results

    found = [v.notebook for v in namespace.values() if isinstance(v, Results)]
    return found[0] if found else "unknown"


def write(record: dict, env: str = LOG_ENV) -> None:
    with open(os.environ[env], "a") as f:
        f.write(json.dumps(record) + "\n")


def sweep(panel, index: int, namespace: dict) -> None:
    import matplotlib.pyplot as plt

    defaults = panel.values()
    values = {n: control_values(c, trains=not panel.live) for n, c in panel.controls.items()}
    calls = max((len(v) for v in values.values()), default=1)
    base = {"notebook": notebook_name(namespace), "panel": index, "function": panel.fn.__name__}
    with kept_state():
        for i in range(calls):
            call = {n: v[i % len(v)] for n, v in values.items()}
            start, error = time.perf_counter(), None
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    panel.fn(**call)
            except Exception:  # recorded for the test to report; the notebook goes on
                error = traceback.format_exc()[-3000:]
            finally:
                plt.close("all")
            seconds = round(time.perf_counter() - start, 2)
            write({**base, "call": {n: repr(v) for n, v in call.items()}, "error": error,
                   "seconds": seconds, "controls": {n: len(v) for n, v in values.items()}})  # fmt: skip
    for name, control in panel.controls.items():
        control.value = defaults[name]


def patch_panels(widgets, namespace: dict) -> None:
    """Every static panel is swept right after it is made."""
    original, created = widgets.Panel.__init__, []

    def init(self, *args, **kwargs) -> None:
        original(self, *args, **kwargs)
        if self.static:
            created.append(self)
            sweep(self, len(created) - 1, namespace)

    widgets.Panel.__init__ = init


def patch_checks(exercises, namespace: dict) -> None:
    """Every exercise report is logged with the source of the cell that made it."""
    original = exercises._report

    def report(ok: bool, name: str, why: str, *, answered: bool = True) -> None:
        record = {"notebook": notebook_name(namespace), "name": name, "ok": bool(ok)}
        record.update(answered=answered, source=exercises._cell_source())
        write(record, CHECK_ENV)
        return original(ok, name, why, answered=answered)

    exercises._report = report


def install(ip) -> None:
    """Patch the course's modules as soon as the notebook has imported them."""
    done = set()

    def patch(*_args) -> None:
        for module, patcher in (("widgets", patch_panels), ("exercises", patch_checks)):
            loaded = sys.modules.get(f"course_utils.{module}")
            if loaded is not None and module not in done:
                patcher(loaded, ip.user_ns)
                done.add(module)

    ip.events.register("pre_run_cell", patch)


if os.environ.get(LOG_ENV) and os.environ.get(CHECK_ENV):
    from IPython import get_ipython

    if get_ipython() is not None:
        install(get_ipython())

"""Slider panels: controls + an output area around a plain function that tests can call directly.

Cheap functions redraw live when a control is released (``live=True``, ``continuous_update=False``);
expensive ones (training) run only when the Run button is pressed (``live=False``); while they run,
the button is disabled and reads "training...". Tests set ``panel.controls[name].value`` and read
``panel.last_result``, or call ``panel.run()``. Used by the "Try it" sections of every notebook.
"""

from __future__ import annotations

import html
import math
import os
import time
from collections.abc import Callable, Iterable
from typing import Any

import ipywidgets as w
import matplotlib.pyplot as plt


def slider(
    description: str,
    value: float,
    low: float,
    high: float,
    step: float | None = None,
    *,
    log: bool = False,
    integer: bool = False,
) -> w.ValueWidget:
    """A slider that reports its value only when released; ``log=True`` gives a log10 scale."""
    common = dict(
        description=description, continuous_update=False, style={"description_width": "initial"}
    )
    if log:
        return w.FloatLogSlider(
            value=value,
            base=10,
            min=math.log10(low),
            max=math.log10(high),
            step=step or 0.1,
            **common,
        )
    if integer:
        return w.IntSlider(
            value=int(value), min=int(low), max=int(high), step=int(step or 1), **common
        )
    return w.FloatSlider(value=value, min=low, max=high, step=step or (high - low) / 100, **common)


LABEL_STYLE = {"description_width": "initial"}  # labels are never cut ("weight_de...")


def dropdown(description: str, options: list[Any], value: Any = None) -> w.Dropdown:
    """A dropdown whose label is shown in full."""
    return w.Dropdown(
        description=description,
        options=options,
        value=options[0] if value is None else value,
        style=LABEL_STYLE,
    )


def checkbox(description: str, value: bool = False) -> w.Checkbox:
    """A checkbox whose label is shown in full."""
    return w.Checkbox(description=description, value=value, style=LABEL_STYLE, indent=False)


BATCH_ENV = "COURSE_BATCH"
RUN_LABEL, BUSY_LABEL = "Run", "training..."
# a click handled this soon after a run ended was queued while it ran (a double click): dropped
QUEUED_CLICK_S = 0.3
KIND_NAMES = {"slider": "sliders", "checkbox": "checkboxes", "menu": "menus", "control": "controls"}


def control_kind(control: w.Widget) -> str:
    """What a panel's note calls the widget: "slider", "checkbox", "menu" or "control"."""
    if isinstance(control, (w.FloatSlider, w.IntSlider, w.FloatLogSlider)):
        return "slider"
    if isinstance(control, w.Checkbox):
        return "checkbox"
    if isinstance(control, (w.Dropdown, w.Select, w.RadioButtons, w.ToggleButtons)):
        return "menu"
    return "control"


def control_kinds(controls: Iterable[w.Widget]) -> str:
    """The kinds of controls, in words and in order of first appearance: "the slider",
    "the checkboxes", "the menu and the sliders" (a panel's note names what is on it)."""
    counts: dict[str, int] = {}
    for control in controls:
        kind = control_kind(control)
        counts[kind] = counts.get(kind, 0) + 1
    words = [f"the {KIND_NAMES[k] if n > 1 else k}" for k, n in counts.items()]
    if not words:
        return "nothing"
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _batch_mode() -> bool:
    """True in papermill/build runs (``$COURSE_BATCH=1``): panels render as static text there."""
    return os.environ.get(BATCH_ENV, "0") not in ("", "0")


class Panel:
    """Controls that feed ``fn(**values)``; its printed output and figures go to the panel's output area.

    In batch runs (``$COURSE_BATCH=1``, set by the course CLI and ``make notebooks``) the panel
    neither runs ``fn`` nor opens widget views: it displays a short static note (HTML and plain
    text) naming its controls, so a stored notebook reads cleanly without a widget manager and a
    batch run sends no widget-comm traffic. The static result sits in the cell above the panel.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        controls: dict[str, w.ValueWidget],
        *,
        live: bool = True,
        title: str = "",
        static: bool | None = None,
    ) -> None:
        self.fn, self.controls, self.live = fn, dict(controls), live
        self.static = _batch_mode() if static is None else static
        self.last_result: Any = None
        self.runs = 0
        self.busy = False  # True while fn runs (a Run panel's button is disabled meanwhile)
        self.finished_at = -math.inf  # time.monotonic() when the last run ended
        self.title = title
        if self.static:
            self.button, self.output, self.widget = None, None, None
            return
        self.output = w.Output()
        self.button = None if live else w.Button(description=RUN_LABEL, button_style="primary")
        parts: list[w.Widget] = [w.HTML(f"<b>{title}</b>")] if title else []
        parts.append(w.HBox(list(self.controls.values()), layout=w.Layout(flex_flow="row wrap")))
        if self.button is not None:
            self.button.on_click(self._clicked)
            parts.append(self.button)
        parts.append(self.output)
        self.widget = w.VBox(parts)
        if live:
            for control in self.controls.values():
                control.observe(lambda _change: self.run(), names="value")
            self.run()

    def _clicked(self, _button: w.Button) -> None:
        """The Run button: runs ``fn``, unless the click was queued while the last run ran."""
        if self.busy or time.monotonic() - self.finished_at < QUEUED_CLICK_S:
            return
        self.run()

    def values(self) -> dict[str, Any]:
        return {name: control.value for name, control in self.controls.items()}

    def run(self) -> Any:
        """Call ``fn`` with the current values, showing its output (and any figure) in the panel.

        A Run panel is busy meanwhile: its button is disabled and reads "training..." (back to
        "Run" when ``fn`` returns or raises); a click queued while it ran is dropped.
        """
        if self.output is None:
            self.last_result = self.fn(**self.values())
            self.runs += 1
            return self.last_result
        if self.busy:
            return self.last_result
        self.busy = True
        if self.button is not None:
            with self.button.hold_sync():  # one update: the page shows both at once
                self.button.disabled, self.button.description = True, BUSY_LABEL
                self.button.icon = "hourglass-half"
        try:
            self.output.clear_output(wait=True)
            with self.output:
                self.last_result = self.fn(**self.values())
                if plt.get_fignums():
                    plt.show()
            self.runs += 1
        finally:
            self.busy, self.finished_at = False, time.monotonic()
            if self.button is not None:
                with self.button.hold_sync():
                    self.button.disabled, self.button.description = False, RUN_LABEL
                    self.button.icon = ""
        return self.last_result

    def static_note(self) -> str:
        """One line naming the controls and their current values, and how the panel responds."""
        values = ", ".join(f"{k}={v!r}" for k, v in self.values().items())
        kinds = control_kinds(self.controls.values())
        how = f"{kinds} update it live" if self.live else f"set {kinds}, then press Run to train"
        return (
            f"Try it{': ' + self.title if self.title else ''} [{values}]. Interactive panel: open "
            f"this notebook in JupyterLab and run it ({how}); the result for these values is shown above."
        )

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        if self.widget is not None:
            return self.widget._repr_mimebundle_(include=include, exclude=exclude)
        text = self.static_note()
        return {"text/plain": text, "text/html": f"<p><i>{html.escape(text)}</i></p>"}


def panel(
    fn: Callable[..., Any], live: bool = True, title: str = "", **controls: w.ValueWidget
) -> Panel:
    """Shorthand: ``panel(draw, lr=slider("lr", 0.1, 1e-4, 1, log=True))``."""
    return Panel(fn, controls, live=live, title=title)

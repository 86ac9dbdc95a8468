"""Slider panels: controls + an output area around a plain function that tests can call directly.

Cheap functions redraw live when a control is released (``live=True``, ``continuous_update=False``);
expensive ones (training) run only when the Run button is pressed (``live=False``).
Tests set ``panel.controls[name].value`` and read ``panel.last_result``, or call ``panel.run()``.
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Callable
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
        self.title = title
        if self.static:
            self.button, self.output, self.widget = None, None, None
            return
        self.output = w.Output()
        self.button = w.Button(description="Run", button_style="primary") if not live else None
        parts: list[w.Widget] = [w.HTML(f"<b>{title}</b>")] if title else []
        parts.append(w.HBox(list(self.controls.values()), layout=w.Layout(flex_flow="row wrap")))
        if self.button is not None:
            self.button.on_click(lambda _: self.run())
            parts.append(self.button)
        parts.append(self.output)
        self.widget = w.VBox(parts)
        if live:
            for control in self.controls.values():
                control.observe(lambda _change: self.run(), names="value")
            self.run()

    def values(self) -> dict[str, Any]:
        return {name: control.value for name, control in self.controls.items()}

    def run(self) -> Any:
        """Call ``fn`` with the current values, showing its output (and any figure) in the panel."""
        if self.output is None:
            self.last_result = self.fn(**self.values())
            self.runs += 1
            return self.last_result
        self.output.clear_output(wait=True)
        with self.output:
            self.last_result = self.fn(**self.values())
            if plt.get_fignums():
                plt.show()
        self.runs += 1
        return self.last_result

    def static_note(self) -> str:
        """One line naming the controls and their current values."""
        values = ", ".join(f"{k}={v!r}" for k, v in self.values().items())
        how = "sliders update live" if self.live else "press Run to train"
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

"""Slider panels: controls + an output area around a plain function that tests can call directly.

Cheap functions redraw live when a control is released (``live=True``, ``continuous_update=False``);
expensive ones (training) run only when the Run button is pressed (``live=False``).
Tests set ``panel.controls[name].value`` and read ``panel.last_result``, or call ``panel.run()``.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as w
import matplotlib.pyplot as plt
from IPython.display import display


def slider(
    description: str, value: float, low: float, high: float, step: float | None = None, *, log: bool = False, integer: bool = False
) -> w.ValueWidget:
    """A slider that reports its value only when released; ``log=True`` gives a log10 scale."""
    common = dict(description=description, continuous_update=False, style={"description_width": "initial"})
    if log:
        import math

        return w.FloatLogSlider(value=value, base=10, min=math.log10(low), max=math.log10(high), step=step or 0.1, **common)
    if integer:
        return w.IntSlider(value=int(value), min=int(low), max=int(high), step=int(step or 1), **common)
    return w.FloatSlider(value=value, min=low, max=high, step=step or (high - low) / 100, **common)


def dropdown(description: str, options: list[Any], value: Any = None) -> w.Dropdown:
    return w.Dropdown(description=description, options=options, value=options[0] if value is None else value)


def checkbox(description: str, value: bool = False) -> w.Checkbox:
    return w.Checkbox(description=description, value=value)


class Panel:
    """Controls that feed ``fn(**values)``; its printed output and figures go to the panel's output area."""

    def __init__(self, fn: Callable[..., Any], controls: dict[str, w.ValueWidget], *, live: bool = True, title: str = "") -> None:
        self.fn, self.controls, self.live = fn, dict(controls), live
        self.output = w.Output()
        self.last_result: Any = None
        self.runs = 0
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
        self.output.clear_output(wait=True)
        with self.output:
            self.last_result = self.fn(**self.values())
            if plt.get_fignums():
                plt.show()
        self.runs += 1
        return self.last_result

    def _ipython_display_(self) -> None:
        display(self.widget)


def panel(fn: Callable[..., Any], live: bool = True, title: str = "", **controls: w.ValueWidget) -> Panel:
    """Shorthand: ``panel(draw, lr=slider("lr", 0.1, 1e-4, 1, log=True))``."""
    return Panel(fn, controls, live=live, title=title)

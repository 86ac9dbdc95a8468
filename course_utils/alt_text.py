"""Alt text for every figure a notebook shows, with no change to the notebook's code.

``import course_utils`` calls :func:`install` (a no-op outside IPython): it wraps the kernel's
display formatter so that each matplotlib ``Figure`` displayed (``plt.show()``, the inline
backend's end-of-cell flush, or a cell that ends with ``fig``) carries a description in its
output metadata, ``metadata["image/png"]["alt"]``. The description is the one given with
:func:`describe` (``cu.plots.describe(fig, "...")`` or a plotting helper's ``description=``), or
one read off the figure itself by :func:`describe_figure`. The website builder
(``course_utils.tools.website_figures``) puts it into the page's ``<img alt>``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PathCollection, PolyCollection, QuadMesh
from matplotlib.container import BarContainer, ErrorbarContainer
from matplotlib.figure import Figure

ALT_KEY = "alt"  # metadata["image/png"][ALT_KEY]
MAX_CHARS = 700  # a screen reader reads all of it: keep it a paragraph, not a data dump
_ATTRIBUTE = "_course_description"
_INSTALLED = "_course_alt_text_installed"


def describe(fig: Figure, text: str) -> Figure:
    """Give ``fig`` an explicit description (its alt text on the website); returns ``fig``."""
    if not isinstance(fig, Figure):
        raise TypeError(f"parameter 'fig' got {type(fig).__name__}; allowed: a matplotlib Figure")
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"parameter 'text' got {text!r}; allowed: a non-empty description")
    setattr(fig, _ATTRIBUTE, text.strip())
    return fig


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _labels(items: list[str], limit: int = 8) -> str:
    """``a, b and c``, or the first ``limit`` and how many more."""
    items = list(dict.fromkeys(i for i in items if i))  # unique, in order
    if len(items) > limit:
        return ", ".join(items[:limit]) + f" and {len(items) - limit} more"
    return " and ".join([", ".join(items[:-1]), items[-1]]) if len(items) > 1 else "".join(items)


def _visible_label(artist: Any) -> str:
    label = str(artist.get_label() or "")
    return "" if label.startswith("_") else label


def _artist_kinds(ax: Axes) -> list[str]:
    """What is drawn on ``ax``: lines, bars, error bars, scatter points, bands, images, meshes."""
    kinds: Counter[str] = Counter()
    in_containers = set()
    for container in ax.containers:
        if isinstance(container, BarContainer):
            kinds["bar"] += len(container.patches)
            in_containers.update(map(id, container.patches))
        elif isinstance(container, ErrorbarContainer):
            kinds["error bar set"] += 1
            in_containers.update(map(id, [a for a in container.get_children() if a is not None]))
    for line in ax.lines:
        if id(line) not in in_containers and len(line.get_xdata()) > 0:
            kinds["line"] += 1
    for collection in ax.collections:
        if id(collection) in in_containers:
            continue
        if isinstance(collection, PathCollection):
            kinds["scatter point"] += len(collection.get_offsets())
        elif isinstance(collection, QuadMesh):
            kinds["heat map"] += 1
        elif isinstance(collection, PolyCollection):
            kinds["shaded band"] += 1
        elif isinstance(collection, LineCollection):
            kinds["line segment group"] += 1
    kinds["image"] += len(ax.images)
    kinds["shape"] += sum(1 for p in ax.patches if id(p) not in in_containers)
    return [_plural(n, kind) for kind, n in kinds.items() if n]


def _is_picture(ax: Axes) -> bool:
    """An axes showing one image with its axis off (a tile of an image grid)."""
    return len(ax.images) == 1 and not ax.axison and not ax.lines


def _describe_axes(ax: Axes) -> str:
    """One axes: its title, what is drawn, its legend, its axis labels and scales."""
    parts = []
    kinds = _artist_kinds(ax)
    title = ax.get_title() or ax.get_title("left") or ax.get_title("right")
    drawn = ", ".join(kinds)
    parts.append(f'"{title}"' + (f": {drawn}" if drawn else "") if title else drawn or "empty")
    legend = ax.get_legend()
    if legend is not None:
        entries = [t.get_text() for t in legend.get_texts()]
        if entries:
            parts.append("legend " + _labels(entries))
    else:
        named = [_visible_label(a) for a in [*ax.lines, *ax.collections, *ax.containers]]
        if any(named):
            parts.append("series " + _labels(named))
    for axis, name in ((ax.xaxis, "x"), (ax.yaxis, "y")):
        label = axis.get_label_text()
        scale = axis.get_scale()
        if label or scale != "linear":
            said = scale in label.lower()  # "time (log scale)" says it already
            scale_note = f" ({scale} scale)" if scale != "linear" and not said else ""
            parts.append(f"{name}: {label or 'unlabelled'}{scale_note}")
    return "; ".join(parts)


def describe_figure(fig: Figure) -> str:
    """A description of ``fig`` for its alt text: the one given with :func:`describe`, else
    read off the figure (suptitle, each panel's title, what it draws, legend, axis labels)."""
    given = getattr(fig, _ATTRIBUTE, None)
    if given:
        return given
    suptitle = fig._suptitle.get_text() if getattr(fig, "_suptitle", None) is not None else ""
    axes = [ax for ax in fig.axes if ax.get_visible() and not hasattr(ax, "_colorbar")]
    pictures = [ax for ax in axes if _is_picture(ax)]
    charts = [ax for ax in axes if not _is_picture(ax)]
    parts = [f'Figure "{suptitle}"' if suptitle else "Figure"]
    if pictures:
        titles = [ax.get_title() for ax in pictures]
        grid = _plural(len(pictures), "image") if len(pictures) > 1 else "an image"
        parts.append(grid + (", titled " + _labels(titles, 12) if any(titles) else ""))
    if len(charts) == 1:
        parts.append("a chart: " + _describe_axes(charts[0]))
    elif charts:
        panels = [f"({i}) {_describe_axes(ax)}" for i, ax in enumerate(charts, 1)]
        parts.append(f"{len(charts)} panels: " + " ".join(panels))
    if any(hasattr(ax, "_colorbar") for ax in fig.axes):
        parts.append("with a colour bar")
    text = ", ".join(parts[:2]) + ("; " + "; ".join(parts[2:]) if len(parts) > 2 else "") + "."
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1].rstrip() + "…"


def _format_with_alt(original: Any) -> Any:
    """Wrap ``DisplayFormatter.format``: a Figure's image/png metadata gets its alt text."""

    def format(obj: Any, include: Any = None, exclude: Any = None) -> tuple[dict, dict]:
        data, metadata = original(obj, include=include, exclude=exclude)
        if isinstance(obj, Figure) and "image/png" in data:
            try:
                alt = describe_figure(obj)
            except Exception as exc:  # a description must never break showing the figure
                alt = f"Figure (no description: {type(exc).__name__})"
            entry = dict(metadata.get("image/png") or {})
            entry[ALT_KEY] = alt
            metadata = {**metadata, "image/png": entry}
        return data, metadata

    return format


def install(shell: Any = None) -> bool:
    """Make every Figure this IPython ``shell`` (default: the running one) displays carry its
    alt text. False outside IPython; installing twice is a no-op."""
    if shell is None:
        try:
            from IPython import get_ipython  # only when asked: scripts need no IPython
        except ImportError:
            return False
        shell = get_ipython()
    if shell is None or not hasattr(shell, "display_formatter"):
        return False
    formatter = shell.display_formatter
    if not getattr(formatter, _INSTALLED, False):
        formatter.format = _format_with_alt(formatter.format)
        setattr(formatter, _INSTALLED, True)
    return True

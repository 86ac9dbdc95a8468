"""Stress test: N smoke runs of every notebook with a "Try it" panel, beside a CPU hog; counts hangs.

Issue 13 saw ``run 06 07`` hang forever in 07's panel cell under heavy load (kernel idle, the
papermill client waiting). Since then a batch run (``COURSE_BATCH=1``, what the course CLI sets)
renders panels as static text with no widget traffic, and every cell has a time limit. This script
checks both under load:

- each run is ``python -m course_utils run NB --profile smoke --cell-timeout S``; a stalled cell
  ends the run with exit 124 (``TIMED_OUT``): counted as a hang caught by the cell timeout;
- as a backstop, a run still going after ``--run-limit`` seconds is stopped (SIGTERM): counted
  as "over the wall limit", which is a hang only if its stalled cell had stopped progressing
  (the line printed for it names the cell that was running; under heavy load it is often just
  slow, so with a cell timeout, keep ``--run-limit`` well above a whole run's time);
- ``--widgets`` runs with ``COURSE_BATCH=0``, i.e. live widgets as before the fix, to try to
  reproduce the original hang;
- ``--synthetic K`` runs, instead of the lessons, a small notebook with K panel cells shaped like
  07's (a matplotlib figure drawn by a live panel), so the panel path is stressed even while a
  lesson notebook is being rewritten.

Bounded: at most ``--runs`` rounds over the notebooks and ``--max-minutes`` overall (a round in
progress finishes its current run, no new run starts after the deadline); the hog processes
are stopped when the script ends. Exit code 1 when any run timed out or went over the wall limit.

    .venv/bin/python benchmarks/stress_runs.py --runs 2 --hog 1
    .venv/bin/python benchmarks/stress_runs.py --synthetic 5 --runs 6 --hog 1 --widgets
    .venv/bin/python benchmarks/stress_runs.py --repo /tmp/old --notebooks "06 07" --widgets
        --cell-timeout 0 --run-limit 400   (an old checkout, from git archive, before the fixes)
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HOG = "while True:\n    pass\n"
VIEW = """import matplotlib.pyplot as plt
import numpy as np

import course_utils as cu


def view(alpha: float = 0.2) -> float:
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.bar(np.arange(10), np.full(10, alpha), label="target")
    ax.set(ylim=(0, 1), title=f"alpha={alpha:g}")
    ax.legend()
    return alpha


view(0.2)
plt.show()"""
PANEL = (
    'cu.widgets.panel(view, title="panel", alpha=cu.widgets.slider("alpha", 0.2, 0.0, 0.9, 0.01))'
)


def synthetic_notebook(path: Path, panels: int) -> str:
    """A notebook with a parameters cell, a plotting function and ``panels`` live-panel cells."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('profile: str = "auto"  # smoke, cpu, gpu or auto')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(VIEW)]
    nb.cells += [nbformat.v4.new_code_cell(PANEL) for _ in range(panels)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return str(path)


def panel_notebooks(repo: Path = REPO) -> list[str]:
    """Stems of the notebooks whose source builds a panel."""
    sources = sorted((repo / "notebooks").glob("[0-9][0-9]_*.py"))
    return [p.stem for p in sources if "panel(" in p.read_text()]


def start_hog(n: int) -> list[subprocess.Popen]:
    """``n`` busy-looping processes (each takes one core), in their own sessions."""
    return [subprocess.Popen([sys.executable, "-c", HOG], start_new_session=True) for _ in range(n)]


def stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.kill()
    for p in procs:
        p.wait()


def stalled_cell(out: Path) -> str:
    """Where a run stopped: the cell still marked running (or failed) in its executed notebooks."""
    for path in sorted(out.glob("*.ipynb")):
        try:
            cells = json.loads(path.read_text())["cells"]
        except (OSError, ValueError, KeyError):
            continue
        for i, cell in enumerate(cells):
            status = cell.get("metadata", {}).get("papermill", {}).get("status")
            if status in ("running", "failed", "interrupted"):
                first = "".join(cell.get("source", "")).strip().splitlines()[:1] or [""]
                kind = "panel" if "panel(" in "".join(cell.get("source", "")) else "not a panel"
                return f"{path.stem} cell {i} ({status}, {kind}): {first[0][:70]}"
    return ""


def one_run(
    notebook: str,
    out: Path,
    cell_timeout: int,
    run_limit: float,
    widgets: bool,
    repo: Path = REPO,
) -> dict:
    """Run one notebook (or several, space-separated) under smoke through the course CLI of
    ``repo``; classify how it ended. ``cell_timeout`` 0 passes no ``--cell-timeout`` (for
    checkouts from before it existed, where only ``run_limit`` bounds a run)."""
    path = os.pathsep.join(filter(None, [str(repo), os.environ.get("PYTHONPATH")]))
    # PYTHONPATH: the kernel, too, imports course_utils from ``repo`` (not the installed copy)
    env = {**os.environ, "COURSE_BATCH": "0" if widgets else "1", "PYTHONPATH": path}
    cmd = [
        sys.executable,
        "-m",
        "course_utils",
        "run",
        *notebook.split(),
        "--profile",
        "smoke",
        "--out",
        str(out),
    ] + (["--cell-timeout", str(cell_timeout)] if cell_timeout else [])
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        _, err = proc.communicate(timeout=run_limit)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)  # the runner records INTERRUPTED and stops its kernel
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        code = None
    seconds = time.perf_counter() - start
    outcome = {0: "ok", 124: "timed out", None: "over wall limit"}.get(code, "failed")
    last = [line for line in err.splitlines() if line.strip()][-1:] or [""]
    return {
        "notebook": notebook,
        "stalled": stalled_cell(out) if outcome != "ok" else "",
        "outcome": outcome,
        "exit": code,
        "seconds": round(seconds, 1),
        "line": last[0][-300:],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=2, help="rounds over the notebooks")
    parser.add_argument("--notebooks", nargs="*", default=None, help="default: those with panels")
    parser.add_argument("--hog", type=int, default=os.cpu_count() or 1, help="busy processes")
    parser.add_argument("--cell-timeout", type=int, default=120, help="per-cell limit (s)")
    parser.add_argument("--run-limit", type=float, default=600, help="kill a run after (s)")
    parser.add_argument("--max-minutes", type=float, default=30, help="start no run after this")
    parser.add_argument("--widgets", action="store_true", help="COURSE_BATCH=0: live widgets")
    parser.add_argument("--synthetic", type=int, default=0, metavar="K", help="K-panel notebook")
    parser.add_argument(
        "--repo",
        default=str(REPO),
        help="checkout whose course CLI runs (e.g. an old commit unpacked with git archive)",
    )
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args(argv)

    notebooks = args.notebooks or panel_notebooks(Path(args.repo))
    scratch = tempfile.TemporaryDirectory(prefix="stress-nb-")
    if args.synthetic:
        notebooks = [synthetic_notebook(Path(scratch.name) / "panels.ipynb", args.synthetic)]
    deadline = time.monotonic() + 60 * args.max_minutes
    mode = "live widgets (COURSE_BATCH=0)" if args.widgets else "static panels (COURSE_BATCH=1)"
    print(
        f"stress: {args.runs} round(s) over {', '.join(notebooks)}; {mode}; {args.hog} hog "
        f"process(es); cell timeout {args.cell_timeout} s; load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    runs: list[dict] = []

    def terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, terminate)  # SIGTERM, like Ctrl-C, still stops the hog below
    hog = start_hog(args.hog)
    try:
        with tempfile.TemporaryDirectory(prefix="stress-") as tmp:
            for round_ in range(args.runs):
                for nb in notebooks:
                    if time.monotonic() > deadline:
                        break
                    r = one_run(
                        nb,
                        Path(tmp) / f"{Path(nb.split()[-1]).stem}-{round_}",
                        args.cell_timeout,
                        args.run_limit,
                        args.widgets,
                        Path(args.repo),
                    )
                    r["round"] = round_
                    r["load"] = round(os.getloadavg()[0], 1)
                    runs.append(r)
                    print(
                        f"  round {round_} {nb}: {r['outcome']} (exit {r['exit']}) in "
                        f"{r['seconds']} s, load {r['load']}"
                        + ("" if r["outcome"] == "ok" else f": {r['line']} [{r['stalled']}]"),
                        flush=True,
                    )
    finally:
        stop(hog)
        scratch.cleanup()
    counts = {
        k: sum(r["outcome"] == k for r in runs)
        for k in ("ok", "failed", "timed out", "over wall limit")
    }
    hangs = counts["timed out"] + counts["over wall limit"]
    print(
        f"stress result: {len(runs)} runs, {counts['ok']} ok, {counts['failed']} failed, "
        f"{counts['timed out']} stopped by the cell timeout (a stalled cell), "
        f"{counts['over wall limit']} stopped at the {args.run_limit:g} s wall limit (slow or "
        f"hung: see the cell named above); possible hangs: {hangs}"
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps({"mode": mode, "hog": args.hog, "counts": counts, "runs": runs}, indent=2)
        )
    return 1 if hangs else 0


if __name__ == "__main__":
    sys.exit(main())

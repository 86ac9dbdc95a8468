"""nbval --nbval-lax over every notebook with COURSE_PROFILE=smoke, each in a fresh kernel.

Every cell must run; cells marked ``# NBVAL_CHECK_OUTPUT`` must reproduce their stored
(cpu-profile) outputs, so they hold only results that do not depend on the profile.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
ONLY = [n for n in os.environ.get("COURSE_TEST_NOTEBOOKS", "").split(",") if n]


@pytest.mark.notebooks
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[nb.stem for nb in NOTEBOOKS])
def test_notebook_passes_nbval(notebook: Path) -> None:
    if ONLY and notebook.stem[:2] not in ONLY and notebook.stem not in ONLY:
        pytest.skip("restricted by COURSE_TEST_NOTEBOOKS")
    env = {
        **os.environ,
        "COURSE_PROFILE": "smoke",
        "COURSE_BATCH": "1",
        "COURSE_STRICT_EXERCISES": "1",
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--nbval-lax",
            "--nbval-sanitize-with",
            str(REPO / "tests" / "nbval_sanitize.cfg"),
            "--nbval-cell-timeout",
            "300",
            str(notebook),
        ],
        cwd=notebook.parent,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_every_notebook_has_an_ipynb_and_py_twin_in_sync() -> None:
    from course_utils.tools.build import in_sync

    sources = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.py"))
    assert sources, "no notebook sources found"
    assert [p.stem for p in sources] == [p.stem for p in NOTEBOOKS], (
        "every NN_topic.py needs its NN_topic.ipynb and back"
    )
    stale = [p.name for p in sources if not in_sync(p)]
    assert not stale, f"regenerate with `make notebooks NB=...`: {stale}"

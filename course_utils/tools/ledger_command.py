"""``python -m course_utils ledger``: print a run's claims ledger, compare two runs, or pool several."""

from __future__ import annotations

import os
from collections.abc import Sequence

from ..tables import format_table
from ..validation import ParameterError
from .ledger import collect, ledger_rows, ledger_text, results_folder, verdict_changes
from .pool import pool_runs


def cmd_ledger(runs: Sequence[str | os.PathLike], pool: bool = False) -> int:
    """``python -m course_utils ledger RUN [RUN2]``: print RUN's ledger; with RUN2, the claims whose
    verdict differs. Exit 1 when a claim is confirmed in one run and refuted in the other. With
    ``pool``: the ledger of every claim decided on the samples of all the runs together."""
    if pool:
        print(ledger_text(ledger_rows(pool_runs(runs))))
        return 0
    if len(runs) > 2:
        raise ParameterError(
            f"parameter 'RUN' got {len(runs)} runs; allowed: one, two to compare, or --pool"
        )
    run, other = runs[0], (runs[1] if len(runs) > 1 else None)
    rows = ledger_rows(collect(results_folder(run)))
    if other is None:
        print(ledger_text(rows))
        return 0
    changes = verdict_changes(rows, ledger_rows(collect(results_folder(other))))
    flips = sum(c["flip"] == "yes" for c in changes)
    if changes:
        columns = ["notebook", "claim", "first", "second", "flip"]
        print(format_table(changes, columns, left=columns) + "\n")
    print(
        f"{len(changes)} claims differ between {run} (first) and {other} (second); "
        f"{flips} flipped between confirmed and refuted"
    )
    return 1 if flips else 0

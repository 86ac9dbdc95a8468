"""The course's machinery, imported by no notebook: the command line (``cli``), the notebook
catalogue, the runner and its execution engine, the claims ledger, sweeps on Optuna, the notebook
build and the website. Everything here imports the lesson API (``course_utils``), never the
reverse (``tests/test_layering.py`` checks it)."""

"""The claims ledger: p-values and Benjamini-Hochberg q-values across a run, the counts line, the
``ledger`` command (one run, or two compared), and the decision rule's own error rates."""

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from course_utils.claims import claim_p_value, decide, rule_verdicts
from course_utils.results import Results
from course_utils.tools import cli, runner, website
from course_utils.tools.ledger import (
    add_q_values,
    collect,
    counts_line,
    ledger_counts,
    ledger_rows,
    results_folder,
)
from course_utils.validation import ParameterError

BENCHMARK = Path(__file__).resolve().parent.parent / "benchmarks" / "rule_error_rates.py"


def crafted(mean: float, sd: float, n: int = 5) -> np.ndarray:
    """n differences with exactly this mean and sample SD (ddof=1)."""
    z = np.linspace(-1.0, 1.0, n)
    return mean + sd * (z - z.mean()) / z.std(ddof=1)


def with_t(mean: float, t: float, n: int = 5) -> np.ndarray:
    """n differences whose mean over its standard error is ``t``."""
    return crafted(mean, abs(mean) / t * math.sqrt(n), n)


STRONG, MARGINAL = with_t(0.04, 12.0), with_t(0.02, 3.0)  # p ~ 1e-4 and ~ 0.02 (confirmed)
OPEN = [crafted(0.0, sd) for sd in (0.02, 0.03, 0.04, 0.05, 0.06)]  # inconclusive, mean < min


def planted(folder: Path, notebook: str = "01_x") -> Results:
    res = Results(notebook, folder / f"{notebook}.json")
    res.compare("strong", STRONG, 0.005)
    res.compare("marginal", MARGINAL, 0.005)
    for i, diffs in enumerate(OPEN):
        res.compare(f"open {i}", diffs, 0.005)
    res.exact("identity", 0.0, 1e-9)
    res.save()
    return res


def test_q_values_are_benjamini_hochberg_over_the_runs_stochastic_claims(tmp_path, capsys):
    planted(tmp_path)
    rows = ledger_rows(collect(tmp_path))
    expected_p = [
        stats.ttest_1samp(d, 0.0, alternative="greater").pvalue for d in (STRONG, MARGINAL)
    ]
    expected_p += [stats.ttest_1samp(d, 0.005, alternative="less").pvalue for d in OPEN]
    expected_q = stats.false_discovery_control(expected_p, method="bh")
    by_claim = {r["claim"]: r for r in rows}
    assert [by_claim[c]["p_value"] for c in ("strong", "marginal")] == pytest.approx(expected_p[:2])
    assert by_claim["strong"]["q_value"] == pytest.approx(expected_q[0])
    assert by_claim["marginal"]["q_value"] == pytest.approx(expected_q[1]) and expected_q[1] > 0.05
    assert by_claim["marginal"]["suggestive"] and "(suggestive)" in by_claim["marginal"]["q"]
    assert not by_claim["strong"]["suggestive"] and by_claim["strong"]["q_value"] < 0.05
    assert by_claim["open 0"]["q_value"] is None and by_claim["open 0"]["p_value"] is not None
    assert by_claim["identity"]["p_value"] is None and by_claim["identity"]["q"] == "-"
    counts = ledger_counts(rows)
    assert (counts["confirmed"], counts["suggestive"], counts["decisions"], counts["kept"]) == (
        3,
        1,
        2,
        1,
    )


def test_without_the_open_claims_the_marginal_decision_is_kept():
    rows = [
        {
            "notebook": "n",
            "claim": c,
            "verdict": "confirmed",
            "samples": list(d),
            "min_effect": 0.005,
        }
        for c, d in (("strong", STRONG), ("marginal", MARGINAL))
    ]
    add_q_values(rows)
    assert [r["suggestive"] for r in rows] == [False, False]


def test_older_results_without_the_new_fields_get_p_values_and_reasons():
    diffs = crafted(-0.02, 0.005)
    old = {"claim": "c", "verdict": "refuted", "samples": list(diffs), "min_effect": 0.01}
    old.update(low=float(diffs.mean() - 0.01), high=float(diffs.mean() + 0.006))
    expected = stats.ttest_1samp(diffs, 0.0, alternative="less").pvalue
    assert claim_p_value(old) == pytest.approx(expected)
    row = ledger_rows([{"notebook": "n", "metrics": {}, "claims": [old]}])[0]
    assert row["reason"] == "reversed" and row["p_value"] == pytest.approx(expected)
    tie = {"claim": "t", "verdict": "refuted", "samples": [0.0] * 5, "min_effect": 0.01}
    assert claim_p_value(tie) is None  # no variation: no test, no q
    grouped = {
        "claim": "g",
        "verdict": "confirmed",
        "samples": list(STRONG),
        "min_effect": 0.005,
        "groups": {"a": list(STRONG), "b": list(MARGINAL)},
        "deciding_group": "b",
    }
    assert claim_p_value(grouped) == pytest.approx(decide(MARGINAL, 0.005).p_value)


def test_the_counts_line_names_every_kind_of_outcome(tmp_path):
    res = Results("01_x", tmp_path / "r.json")
    res.compare("reversed", crafted(-0.02, 0.005), 0.01)
    res.compare("negligible", crafted(0.0, 0.002), 0.01)
    res.compare("far", crafted(0.002, 0.05), 0.01)  # needs far more than 50 seeds
    res.compare("good", STRONG, 0.005)
    res.save()
    line = counts_line(ledger_rows(collect(tmp_path)))
    assert "1 confirmed, 2 refuted (1 reversed, 1 negligible), 0 depends, 1 inconclusive" in line
    assert "0 suggestive (q > 0.05); 1 not decidable at this budget" in line
    assert "Benjamini-Hochberg at q = 0.05: about 0.15 of the 3 kept decisions" in line


def test_report_and_claims_page_show_q_and_the_counts(tmp_path):
    planted(tmp_path / "results")
    results = collect(tmp_path / "results")
    report = "\n".join(runner._ledger_lines(results, tmp_path))
    assert "| verdict | q |" in report and "Benjamini-Hochberg at q = 0.05" in report
    assert "(suggestive)" in report
    static = tmp_path / "static"
    static.mkdir()
    page = website.claims_page(tmp_path / "results", static)
    assert '<th scope="col">q</th>' in page and "1 suggestive" in page and "(suggestive)" in page


def test_ledger_command_prints_one_run(tmp_path, capsys):
    planted(tmp_path / "run" / "results")
    capsys.readouterr()
    assert cli.main(["ledger", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:3] == ["notebook", "claim", "effect"]
    assert "marginal" in out and "(suggestive)" in out and "Benjamini-Hochberg" in out
    assert cli.main(["ledger", str(tmp_path / "nothing")]) == 2
    assert "'RUN'" in capsys.readouterr().err


def two_runs(tmp_path: Path, second_diffs: np.ndarray) -> tuple[Path, Path]:
    first, second = tmp_path / "a", tmp_path / "b"
    res = Results("01_x", first / "01_x.json")
    res.compare("it helps", STRONG, 0.005)
    res.compare("only in the first", STRONG, 0.005)
    res.save()
    res = Results("01_x", second / "01_x.json")
    res.compare("it helps", second_diffs, 0.005)
    res.save()
    return first, second


def test_ledger_command_fails_when_a_claim_flips_between_confirmed_and_refuted(tmp_path, capsys):
    first, second = two_runs(tmp_path, crafted(-0.02, 0.005))
    capsys.readouterr()
    assert cli.main(["ledger", str(first), str(second)]) == 1
    out = capsys.readouterr().out
    assert "it helps" in out and "only in the first" in out and "1 flipped" in out


def test_ledger_command_lists_other_changes_without_failing(tmp_path, capsys):
    first, second = two_runs(tmp_path, crafted(0.006, 0.05))  # confirmed -> inconclusive
    capsys.readouterr()
    assert cli.main(["ledger", str(first), str(second)]) == 0
    out = capsys.readouterr().out
    assert "inconclusive" in out and "only in the first" in out and "0 flipped" in out


def test_results_folder_takes_a_run_or_a_folder_of_json(tmp_path):
    planted(tmp_path / "run" / "results")
    assert results_folder(tmp_path / "run") == tmp_path / "run" / "results"
    assert results_folder(tmp_path / "run" / "results") == tmp_path / "run" / "results"
    with pytest.raises(ParameterError, match="results JSON"):
        results_folder(tmp_path)


def load_benchmark():
    spec = importlib.util.spec_from_file_location("rule_error_rates", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_rules_error_rates():
    rows = load_benchmark().error_rates(replicates=2000, seed=1)
    rate = {(r["true effect"], r["n"]): r for r in rows}
    assert len(rows) == 8
    assert rate["0", 5]["P(confirmed)"] <= 0.03 and rate["0", 10]["P(confirmed)"] <= 0.03
    assert rate["2 x min effect", 10]["P(confirmed)"] >= 0.95
    assert rate["min effect", 5]["P(refuted)"] <= 0.05  # the size of the non-superiority test
    assert rate["0", 10]["P(refuted)"] >= 0.6 > rate["0", 5]["P(refuted)"]


def test_the_vectorized_rule_is_decides_rule():
    rng = np.random.default_rng(0)
    diffs = rng.normal(0.5, 1.0, size=(300, 5))
    mean = diffs.mean(axis=1)
    half = stats.t.ppf(0.975, 4) * diffs.std(axis=1, ddof=1) / math.sqrt(5)
    vectorized = rule_verdicts(mean, mean - half, mean + half, 1.0)
    assert list(vectorized) == [decide(d, 1.0).verdict for d in diffs]
    assert set(vectorized) == {"confirmed", "refuted", "inconclusive"}

"""`clv-segments backtest`: the model card printed from the marts of a hand-made warehouse.

The warehouse holds only the two marts the command reads, with rows written by hand: two
candidates measured (the chosen one with the lower deviance), one not, and the baselines. The
builds that fill these marts for real are in test_model_card.py.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from clv_segments import cli
from clv_segments.clv.backtest import (
    FHL_2005_REFERENCE,
    format_model_card,
    read_model_card,
    reference_comparison,
)

METRICS_COLUMNS = (
    "model varchar, model_kind varchar, metric varchar, value double, is_chosen boolean, "
    "backtest_status varchar, status_detail varchar, calibration_date date, as_of_date date, "
    "holdout_days integer"
)
# (model, kind, metric, value, is_chosen, backtest_status, status_detail)
METRICS = [
    ("bgnbd", "model", "customers", 2357, True, "measured", None),
    ("bgnbd", "model", "actual_purchases", 1882, True, "measured", None),
    ("bgnbd", "model", "actual_revenue", 70976.39, True, "measured", None),
    ("bgnbd", "model", "predicted_purchases", 1653.41, True, "measured", None),
    ("bgnbd", "model", "poisson_deviance", 1.5992, True, "measured", None),
    ("bgnbd", "model", "mae", 0.785, True, "measured", None),
    ("pareto_nbd", "model", "predicted_purchases", 1700.0, False, "measured", None),
    ("pareto_nbd", "model", "poisson_deviance", 1.6101, False, "measured", None),
    ("pareto_nbd", "model", "mae", 0.791, False, "measured", None),
    ("mbgnbd", "model", "poisson_deviance", None, False, "fit_failed", "every penalizer failed"),
    ("zero", "baseline", "predicted_purchases", 0.0, False, "measured", None),
    ("zero", "baseline", "mae", 0.798, False, "measured", None),
    ("hindsight", "ceiling", "spearman_revenue", 1.0, False, "measured", None),
]
DIAGNOSTICS_COLUMNS = (
    "fit_scope varchar, model_name varchar, model_role varchar, fitted_as_of date, "
    "status varchar, status_detail varchar, param_r double, param_alpha double, param_a double, "
    "param_b double, param_s double, param_beta double, param_p double, param_q double, "
    "param_v double, log_likelihood double, n_customers bigint, is_chosen boolean, "
    "choice_reason varchar, failed_readiness_checks varchar, time_unit varchar"
)
FORECASTERS = ["bgnbd", "pareto_nbd", "mbgnbd", "zero", "hindsight"]  # in print order
REASON = "chosen by the backtest: lowest holdout Poisson deviance (1.5992) of 2 candidates"
# (fit_scope, model, role, as of, r, alpha, a, b, p, q, v, log-likelihood, customers, chosen)
DIAGNOSTICS = [
    ("backtest", "bgnbd", "purchases", "1997-09-30", 0.2426, 4.4136, 0.7929, 2.4259, None, None,
     None, -9582.429, 2357, True, None),
    ("backtest", "gamma_gamma", "spend", "1997-09-30", None, None, None, None, 6.2496, 3.7442,
     15.4435, -4055.9, 946, False, None),
    ("current", "bgnbd", "purchases", "1998-06-30", 0.2536, 5.4473, 0.6074, 2.6472, None, None,
     None, -17138.2, 2357, True, REASON),
    ("current", "gamma_gamma", "spend", "1998-06-30", None, None, None, None, 4.6835, 4.1898,
     24.3906, -4884.6, 1139, False, None),
]  # fmt: skip


def _warehouse(path: Path, diagnostics: list[tuple] = DIAGNOSTICS) -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(f"create table marts.clv_backtest_metrics ({METRICS_COLUMNS})")
        for row in METRICS:
            con.execute(
                "insert into marts.clv_backtest_metrics values "
                "(?, ?, ?, ?, ?, ?, ?, '1997-09-30', '1998-06-30', 273)",
                list(row),
            )
        con.execute(f"create table marts.clv_model_diagnostics ({DIAGNOSTICS_COLUMNS})")
        for scope, model, role, as_of, r, alpha, a, b, p, q, v, ll, n, chosen, why in diagnostics:
            con.execute(
                "insert into marts.clv_model_diagnostics values "
                "(?, ?, ?, ?, 'fitted', null, ?, ?, ?, ?, null, null, ?, ?, ?, ?, ?, ?, ?, "
                "null, 'week')",
                [scope, model, role, as_of, r, alpha, a, b, p, q, v, ll, n, chosen, why],
            )
    return path


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return _warehouse(tmp_path / "warehouse.duckdb")


def test_card_reads_the_marts(warehouse: Path) -> None:
    card = read_model_card(warehouse)
    assert (card.calibration_date.isoformat(), card.as_of_date.isoformat()) == (
        "1997-09-30",
        "1998-06-30",
    )
    assert (card.holdout_days, card.time_unit) == (273, "week")
    assert card.chosen_model == "bgnbd" and card.choice_reason == REASON
    assert card.value("pareto_nbd", "poisson_deviance") == 1.6101
    assert card.value("mbgnbd", "poisson_deviance") is None
    assert card.fit("backtest", "gamma_gamma")["param_v"] == 15.4435


def test_metrics_table_marks_the_chosen_model_and_orders_by_deviance(warehouse: Path) -> None:
    printed = format_model_card(read_model_card(warehouse))
    rows = [line for line in printed.splitlines() if line[2:].split(" ")[0] in FORECASTERS]
    assert [line[2:].split()[0] for line in rows] == FORECASTERS
    assert rows[0].startswith("* bgnbd ") and "1,653.4" in rows[0] and "1.5992" in rows[0]
    assert rows[1].startswith("  pareto_nbd ") and "1.6101" in rows[1]
    # a candidate that was not measured says why instead of figures
    assert rows[2].startswith("  mbgnbd ") and "fit_failed: every penalizer failed" in rows[2]
    # a baseline shows what it forecasts, a dash for the rest
    assert rows[3].split()[:5] == ["zero", "baseline", "0.0", "-", "-"]
    assert "2,357 customers" in printed and "1,882 purchases" in printed
    assert "70,976.39" in printed
    assert f"Chosen purchase model: bgnbd ({REASON})" in printed
    assert "Published" not in printed


def test_parameters_of_both_fits_are_printed(warehouse: Path) -> None:
    printed = format_model_card(read_model_card(warehouse))
    fits = printed[printed.index("Fits (marts.clv_model_diagnostics)") :].splitlines()[2:]
    assert [line.split()[:3] for line in fits] == [
        ["backtest", "bgnbd", "1997-09-30"],
        ["backtest", "gamma_gamma", "1997-09-30"],
        ["*", "current", "bgnbd"],
        ["current", "gamma_gamma", "1998-06-30"],
    ]
    assert "r 0.2426  alpha 4.4136  a 0.7929  b 2.4259" in fits[0]
    assert "p 6.2496  q 3.7442  v 15.4435" in fits[1]
    assert "-9,582.4" in fits[0] and "2,357" in fits[0]


def test_reference_compares_at_the_published_precision(tmp_path: Path) -> None:
    card = read_model_card(_warehouse(tmp_path / "matches.duckdb"))
    comparison = {(row["model"], row["figure"]): row for row in reference_comparison(card)}
    assert len(comparison) == 10
    assert all(row["matches"] for row in comparison.values())
    assert comparison[("bgnbd", "log_likelihood")]["ours"] == -9582.429
    printed = format_model_card(card, reference="fhl2005")
    assert "Fader, Hardie and Lee (2005)" in printed
    assert "note:" not in printed  # the build's split and unit are the published ones

    # r 0.2424 rounds to 0.242, not the published 0.243
    off = [(*DIAGNOSTICS[0][:4], 0.2424, *DIAGNOSTICS[0][5:]), *DIAGNOSTICS[1:]]
    card = read_model_card(_warehouse(tmp_path / "off.duckdb", off))
    failed = [row for row in reference_comparison(card) if not row["matches"]]
    assert [(row["model"], row["figure"]) for row in failed] == [("bgnbd", "r")]
    printed = format_model_card(card, reference="fhl2005").splitlines()
    assert [line.split()[:2] for line in printed if line.endswith("  NO")] == [["bgnbd", "r"]]


def test_cli_prints_the_card_and_names_a_missing_mart(
    warehouse: Path, tmp_path: Path, capsys
) -> None:
    assert cli.main(["backtest", "--database", str(warehouse), "--reference", "fhl2005"]) == 0
    printed = capsys.readouterr().out
    assert "* bgnbd" in printed and "Published: Fader, Hardie and Lee (2005)" in printed

    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    assert cli.main(["backtest", "--database", str(empty)]) == 2
    assert "marts.clv_backtest_metrics not built in" in capsys.readouterr().err
    assert cli.main(["backtest", "--database", str(tmp_path / "missing.duckdb")]) == 2
    assert "missing.duckdb not found" in capsys.readouterr().err


def test_fhl_reference_constants() -> None:
    bgnbd = FHL_2005_REFERENCE["bgnbd"]
    assert (bgnbd["r"], bgnbd["alpha"], bgnbd["a"], bgnbd["b"]) == (0.243, 4.414, 0.793, 2.426)
    assert bgnbd["log_likelihood"] == -9582.4 and bgnbd["time_unit"] == "week"
    spend = FHL_2005_REFERENCE["gamma_gamma"]
    assert (spend["p"], spend["q"], spend["v"]) == (6.25, 3.74, 15.44)

"""The backtest every build makes (the model card), through the whole dbt project.

- CDNOW master in days, as of 1998-06-30 with clv_backtest_days 273 (the literature's split,
  calibration end 1997-09-30), built by `clv-segments run` as `make backtest` builds it: the BG/NBD
  rows of marts.clv_backtest_metrics equal lifetimes on the same split, computed from the raw file
  without the project; `auto` chooses the candidate with the lowest holdout Poisson deviance.
- CDNOW sample in weeks, same split: the backtest's calibration fit is fitted on exactly Fader,
  Hardie and Lee's (2005) calibration period and reproduces their parameters.
- A small generated shop: moving and repricing every holdout order leaves the calibration fit
  identical, while the holdout actuals and the current fit move; so does dropping the refunds dated
  in the holdout (the calibration side nets only the refunds dated by the calibration date).
- A shop whose history is too short at the calibration date: the candidates say so, and `auto`
  falls back on var clv_model_fallback, saying why.

Each build is shared by the tests of its module-scoped fixture; the CDNOW builds are marked slow.
"""

from __future__ import annotations

import importlib.resources
import subprocess
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from lifetimes import BetaGeoFitter
from lifetimes.utils import calibration_and_holdout_data

from clv_segments.clv.backtest import FHL_2005_REFERENCE
from clv_segments.demo.cdnow import load_cdnow
from clv_segments.demo.generator import generate
from clv_segments.demo.rawfiles import write_table

from dbt_harness import CLV_SEGMENTS, DbtResult, run_dbt, run_main_job

CANDIDATES = {"bgnbd", "pareto_nbd", "mbgnbd"}
CDNOW_AS_OF, CDNOW_CALIBRATION_END = date(1998, 6, 30), date(1997, 9, 30)
CDNOW_BACKTEST_DAYS = (CDNOW_AS_OF - CDNOW_CALIBRATION_END).days  # 273
CDNOW_VARS = {
    "as_of_date": CDNOW_AS_OF.isoformat(),
    "clv_backtest_days": CDNOW_BACKTEST_DAYS,
    "reporting_currency": "USD",
}
# the published parameters are compared to 3 decimals (log-likelihood to 0.05), Gamma-Gamma's to 2
FHL_BGNBD_TOLERANCE, FHL_LOG_LIKELIHOOD_TOLERANCE, FHL_GAMMA_GAMMA_TOLERANCE = 0.0005, 0.05, 0.005

# the cheapest build holding every figure these tests read: the seeds and models upstream of the
# calibration fit and its diagnostics, the current fit and the holdout actuals
# (clv_backtest_metrics), without the tests
BACKTEST_SELECTION = ["build", "--select", "+clv_model_diagnostics", "+clv_backtest_metrics"]
BACKTEST_SELECTION += ["--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"]
SHOP_AS_OF = date(2026, 11, 20)
SHOP_BACKTEST_DAYS = 90  # the var's default
SHOP_CALIBRATION_END = SHOP_AS_OF - timedelta(days=SHOP_BACKTEST_DAYS)


def _frame(database: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.sql(sql).df()


def _published_cdnow(tmp_path_factory, variant: str, more_vars: dict) -> Path:
    """CDNOW `variant` loaded and published by `clv-segments run --no-activation`, as `make
    backtest` does; returns the published warehouse."""
    workdir = tmp_path_factory.mktemp(f"cdnow_{variant}")
    raw = workdir / "raw"
    load_cdnow(raw, variant=variant)
    database = workdir / f"cdnow_{variant}.duckdb"
    result = run_main_job(
        "run",
        database,
        {"raw_data_path": str(raw), **CDNOW_VARS, **more_vars},
        "--no-activation",
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "PUBLISHED" in result.stdout
    return database


def _print_model_card(database: Path, *options: str) -> str:
    result = subprocess.run(
        [str(CLV_SEGMENTS), "backtest", "--database", str(database), *options],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _model_rows(database: Path) -> pd.DataFrame:
    return _frame(
        database,
        "select model, metric, value, is_chosen, backtest_status, status_detail "
        "from marts.clv_backtest_metrics where model_kind = 'model'",
    )


def _current_purchase_model(database: Path) -> dict:
    rows = _frame(
        database,
        "select model_name, status, is_chosen, choice_reason from marts.clv_model_diagnostics "
        "where fit_scope = 'current' and model_role = 'purchases'",
    )
    assert len(rows) == 1, rows
    return rows.iloc[0].to_dict()


# --- CDNOW master, days: the backtest equals lifetimes on the same split --------------------------


@pytest.fixture(scope="module")
def cdnow_master(tmp_path_factory) -> Path:
    return _published_cdnow(tmp_path_factory, "master", {"clv_time_unit": "day"})


@pytest.fixture(scope="module")
def lifetimes_split() -> tuple[pd.DataFrame, BetaGeoFitter]:
    """BG/NBD on CDNOW master computed by lifetimes alone: the file read with pandas, split with
    calibration_and_holdout_data at 1997-09-30 / 1998-06-30 in days, fitted by BetaGeoFitter.

    The project's rules for the master file, applied here by hand:
    - include_zero_value_orders is false (the default): a $0 line is not a purchase, so the 80 $0
      lines are dropped before summarising (70 customers bought only for $0 by the calibration
      end and are in neither calibration data);
    - a purchase occasion is a day with a valid order: lifetimes with freq 'D' counts distinct
      days too (calibration frequency and holdout frequency alike);
    - clv_history_days (1500) reaches back before the first CDNOW order, so every customer with a
      valid order by the calibration end is in the calibration data, as in lifetimes.
    """
    path = importlib.resources.files("lifetimes") / "datasets" / "CDNOW_master.txt"
    lines = pd.read_csv(
        path,
        sep=r"\s+",
        skiprows=1,
        names=["customer_id", "date", "number_of_cds", "dollar_value"],
        dtype={"customer_id": str, "date": str},
    )
    purchases = lines.loc[lines["dollar_value"] > 0].assign(
        date=lambda frame: pd.to_datetime(frame["date"], format="%Y%m%d")
    )
    # lifetimes 0.11.3 under pandas 3 needs a value column to count holdout days (without one
    # its holdout groupby has no column to aggregate); the count is the same
    split = calibration_and_holdout_data(
        purchases,
        "customer_id",
        "date",
        calibration_period_end=CDNOW_CALIBRATION_END.isoformat(),
        observation_period_end=CDNOW_AS_OF.isoformat(),
        freq="D",
        monetary_value_col="dollar_value",
    )
    fitter = BetaGeoFitter(penalizer_coef=0.0)
    fitter.fit(split["frequency_cal"], split["recency_cal"], split["T_cal"])
    split["predicted"] = fitter.conditional_expected_number_of_purchases_up_to_time(
        CDNOW_BACKTEST_DAYS, split["frequency_cal"], split["recency_cal"], split["T_cal"]
    )
    return split, fitter


@pytest.mark.slow
def test_bgnbd_backtest_equals_lifetimes_on_cdnow_master(cdnow_master, lifetimes_split) -> None:
    split, fitter = lifetimes_split
    assert split["duration_holdout"].unique().tolist() == [CDNOW_BACKTEST_DAYS]
    bgnbd = _model_rows(cdnow_master).query("model == 'bgnbd'").set_index("metric")
    assert set(bgnbd["backtest_status"]) == {"measured"}
    assert bgnbd.loc["customers", "value"] == len(split) == 23_500
    assert bgnbd.loc["actual_purchases", "value"] == split["frequency_holdout"].sum() == 19_674
    assert bgnbd.loc["predicted_purchases", "value"] == pytest.approx(
        split["predicted"].sum(), rel=0.005
    )
    calibration = _frame(
        cdnow_master,
        "select param_r, param_alpha, param_a, param_b, n_customers, fitted_as_of "
        "from marts.clv_model_diagnostics where fit_scope = 'backtest' and model_name = 'bgnbd'",
    ).iloc[0]
    assert calibration["fitted_as_of"].date() == CDNOW_CALIBRATION_END
    assert calibration["n_customers"] == len(split)
    for name, value in fitter.params_.items():
        assert calibration[f"param_{name}"] == pytest.approx(value, rel=0.01), name


@pytest.mark.slow
def test_auto_chooses_the_lowest_holdout_poisson_deviance(cdnow_master) -> None:
    rows = _model_rows(cdnow_master)
    deviance = rows.query("metric == 'poisson_deviance' and backtest_status == 'measured'")
    assert deviance["value"].notna().all() and len(deviance) >= 1
    lowest = deviance.sort_values(["value", "model"])["model"].iloc[0]
    chosen = set(
        _frame(cdnow_master, "select model from marts.clv_backtest_metrics where is_chosen")[
            "model"
        ]
    )
    assert chosen == {lowest}
    current = _current_purchase_model(cdnow_master)
    assert current["model_name"] == lowest and current["is_chosen"]
    assert current["status"] == "fitted"
    assert "lowest holdout Poisson deviance" in current["choice_reason"]
    # every candidate was measured (fails while the stand-in fits bgnbd only)
    assert set(deviance["model"]) == CANDIDATES


@pytest.mark.slow
def test_backtest_command_prints_the_cdnow_master_card(cdnow_master) -> None:
    printed = _print_model_card(cdnow_master)
    chosen = _current_purchase_model(cdnow_master)["model_name"]
    assert f"* {chosen} " in printed
    assert "1997-09-30" in printed and "273 days to 1998-06-30" in printed
    assert "19,674 purchases" in printed
    for baseline in ("zero", "past_rate", "average_gap", "spend_rank", "hindsight"):
        assert f"  {baseline} " in printed
    assert "Published" not in printed


# --- CDNOW sample, weeks: Fader, Hardie and Lee (2005) --------------------------------------------


@pytest.fixture(scope="module")
def cdnow_sample(tmp_path_factory) -> Path:
    # FHL count the sample's $0 purchases: include_zero_value_orders reproduces their 2,357
    return _published_cdnow(
        tmp_path_factory, "sample", {"clv_time_unit": "week", "include_zero_value_orders": True}
    )


@pytest.mark.slow
def test_fhl_2005_reproduced_by_the_backtest_calibration_fit(cdnow_sample) -> None:
    # as of 1998-06-30 with clv_backtest_days 273 the calibration fit is fitted as of 1997-09-30,
    # FHL's calibration period; the current fit (as of 1998-06-30) is another fit
    fits = _frame(
        cdnow_sample,
        "select * from marts.clv_model_diagnostics where fit_scope = 'backtest'",
    ).set_index("model_name")
    bgnbd, gamma_gamma = fits.loc["bgnbd"], fits.loc["gamma_gamma"]
    reference = FHL_2005_REFERENCE["bgnbd"]
    assert bgnbd["status"] == "fitted" and bgnbd["time_unit"] == "week"
    assert bgnbd["fitted_as_of"].date() == CDNOW_CALIBRATION_END
    for name in ("r", "alpha", "a", "b"):
        assert abs(bgnbd[f"param_{name}"] - reference[name]) < FHL_BGNBD_TOLERANCE, name
    assert abs(bgnbd["log_likelihood"] - reference["log_likelihood"]) < (
        FHL_LOG_LIKELIHOOD_TOLERANCE
    )
    assert bgnbd["n_customers"] == reference["n_customers"]
    spend = FHL_2005_REFERENCE["gamma_gamma"]
    for name in ("p", "q", "v"):
        assert abs(gamma_gamma[f"param_{name}"] - spend[name]) < FHL_GAMMA_GAMMA_TOLERANCE, name
    assert gamma_gamma["n_customers"] == spend["n_customers"]


@pytest.mark.slow
def test_sample_holdout_actuals_are_counted_from_the_file(cdnow_sample) -> None:
    # purchase days and revenue after 1997-09-30, read from CDNOW_sample.txt without the project
    # ($0 purchases count: include_zero_value_orders is true for this build)
    path = importlib.resources.files("lifetimes") / "datasets" / "CDNOW_sample.txt"
    lines = pd.read_csv(
        path,
        sep=r"\s+",
        header=None,
        names=["customer_id", "sample_id", "date", "number_of_cds", "dollar_value"],
        dtype={"customer_id": str, "date": str},
    )
    holdout = lines.loc[pd.to_datetime(lines["date"]) > pd.Timestamp(CDNOW_CALIBRATION_END)]
    zero = _frame(
        cdnow_sample,
        "select metric, value from marts.clv_backtest_metrics where model = 'zero'",
    ).set_index("metric")["value"]
    assert zero["customers"] == 2_357
    assert zero["actual_purchases"] == len(holdout[["customer_id", "date"]].drop_duplicates())
    assert zero["actual_revenue"] == pytest.approx(holdout["dollar_value"].sum(), abs=0.01)


@pytest.mark.slow
def test_backtest_command_prints_the_fhl_comparison(cdnow_sample) -> None:
    printed = _print_model_card(cdnow_sample, "--reference", "fhl2005")
    comparison = printed[printed.index("Published: Fader, Hardie and Lee (2005)") :]
    rows = [line for line in comparison.splitlines()[2:] if line.strip()]
    assert len(rows) == 10  # 4 parameters, log-likelihood and customers; Gamma-Gamma's 3 and 946
    assert all(line.endswith("  yes") for line in rows), comparison
    assert "0.243" in comparison and "-9,582.4" in comparison and "15.44" in comparison


# --- a generated shop: no holdout row reaches the calibration fit ---------------------------------


def _orders_moved_within_the_holdout(raw: Path) -> int:
    """Move every order dated in the holdout (after the calibration date, up to the as-of date) 37
    days on, wrapping around inside the holdout, and change its amount; return how many."""
    holdout_days = SHOP_BACKTEST_DAYS
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        in_holdout = (
            f"cast(ordered_at as date) > date '{SHOP_CALIBRATION_END}' "
            f"and cast(ordered_at as date) <= date '{SHOP_AS_OF}'"
        )
        day_in_holdout = (
            f"date_diff('day', date '{SHOP_CALIBRATION_END}', cast(ordered_at as date))"
        )
        moved = con.sql(
            f"""
            select * replace (
                case when {in_holdout} then
                    ordered_at + to_days(cast(
                        (({day_in_holdout} - 1 + 37) % {holdout_days}) + 1 - {day_in_holdout}
                        as integer))
                    else ordered_at end as ordered_at,
                case when {in_holdout} then cast(amount * 1.5 + 3 as decimal(18, 2))
                    else amount end as amount
            )
            from read_parquet('{raw / "orders.parquet"}')
            """
        ).to_arrow_table()
        (count,) = con.execute(
            f"select count(*) from read_parquet('{raw / 'orders.parquet'}') where {in_holdout}"
        ).fetchone()
    write_table(moved, raw, "orders", "parquet")
    return count


def _calibration_fit(result: DbtResult) -> pd.DataFrame:
    """clv_backtest_fit less its wall-clock figures (fit seconds, the attempts' timings)."""
    return result.frame(
        "select model_name, metric, value, std_error, detail from intermediate.clv_backtest_fit "
        "where metric not in ('fit_seconds', 'status_detail') order by model_name, metric"
    )


def _backtest_diagnostics(result: DbtResult) -> pd.DataFrame:
    """The calibration fit's rows of clv_model_diagnostics, less its wall-clock figures and what
    the holdout decides (the candidates' holdout deviance, which one is chosen and why)."""
    return result.frame(
        "select * exclude (fit_seconds, status_detail, holdout_poisson_deviance, is_chosen, "
        "choice_reason) "
        "from marts.clv_model_diagnostics where fit_scope = 'backtest' order by model_name"
    )


@pytest.fixture(scope="module")
def shop_raw(tmp_path_factory) -> Path:
    raw = tmp_path_factory.mktemp("shop") / "raw"
    generate(1_500, SHOP_AS_OF, seed=11, out_dir=raw)
    return raw


def _build_shop(raw: Path, workdir: Path) -> DbtResult:
    return run_dbt(
        BACKTEST_SELECTION, workdir, {"raw_data_path": str(raw), "as_of_date": str(SHOP_AS_OF)}
    )


def _changed_copy(raw: Path, workdir: Path, change: Callable[[Path], int]) -> tuple[Path, int]:
    """A copy of the raw files with ``change`` applied; returns it and how many rows changed."""
    copy = workdir / "raw"
    copy.mkdir(parents=True)
    for path in raw.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    return copy, change(copy)


@pytest.fixture(scope="module")
def shop_before(shop_raw, tmp_path_factory) -> DbtResult:
    return _build_shop(shop_raw, tmp_path_factory.mktemp("shop_before"))


@pytest.fixture(scope="module")
def holdout_moved(shop_raw, shop_before, tmp_path_factory) -> tuple[DbtResult, DbtResult, int]:
    """The same shop built twice: as generated, and with every holdout order moved and repriced."""
    workdir = tmp_path_factory.mktemp("shop_moved")
    raw, moved = _changed_copy(shop_raw, workdir, _orders_moved_within_the_holdout)
    return shop_before, _build_shop(raw, workdir), moved


def test_moving_holdout_orders_leaves_the_calibration_fit_identical(holdout_moved) -> None:
    before, after, moved = holdout_moved
    assert moved > 500  # a real holdout, not a handful of rows
    fit = _calibration_fit(before)
    assert set(fit.query("metric == 'status'")["detail"]) == {"fitted"}
    pd.testing.assert_frame_equal(_calibration_fit(after), fit)
    pd.testing.assert_frame_equal(_backtest_diagnostics(after), _backtest_diagnostics(before))
    # the candidates' forecasts, made at the calibration date, do not move either (the sum over
    # customers may add in another order: equal to the last digits)
    forecast = (
        "select model, value from marts.clv_backtest_metrics "
        "where model_kind = 'model' and metric = 'predicted_purchases' order by model"
    )
    assert dict(after.query(forecast)) == pytest.approx(dict(before.query(forecast)), rel=1e-12)


def test_moving_holdout_orders_changes_what_the_holdout_and_the_current_fit_see(
    holdout_moved,
) -> None:
    # so the test above can fail: the same change reaches everything that reads the holdout
    before, after, _ = holdout_moved
    actuals = (
        "select metric, value from marts.clv_backtest_metrics where model = 'zero' "
        "and metric in ('actual_revenue', 'customers') order by metric"
    )
    actual_before, actual_after = dict(before.query(actuals)), dict(after.query(actuals))
    assert actual_after["customers"] == actual_before["customers"]
    # every holdout amount was raised by half, plus 3
    assert actual_after["actual_revenue"] > actual_before["actual_revenue"] * 1.4
    current = (
        "select model_name, log_likelihood from marts.clv_model_diagnostics "
        "where fit_scope = 'current' and model_name = 'gamma_gamma'"
    )
    assert after.query(current) != before.query(current)


def _holdout_refunds_of_calibration_orders_dropped(raw: Path) -> int:
    """Drop every refund dated in the holdout whose order is dated by the calibration date;
    return how many."""
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        in_holdout = (
            f"cast(refunds.refunded_at as date) > date '{SHOP_CALIBRATION_END}' "
            f"and cast(refunds.refunded_at as date) <= date '{SHOP_AS_OF}' "
            f"and cast(orders.ordered_at as date) <= date '{SHOP_CALIBRATION_END}'"
        )
        source = (
            f"read_parquet('{raw / 'refunds.parquet'}') as refunds "
            f"left join read_parquet('{raw / 'orders.parquet'}') as orders "
            "on refunds.order_id = orders.order_id"
        )
        kept = con.sql(
            f"select refunds.* from {source} where not coalesce({in_holdout}, false)"
        ).to_arrow_table()
        (count,) = con.execute(f"select count(*) from {source} where {in_holdout}").fetchone()
    write_table(kept, raw, "refunds", "parquet")
    return count


@pytest.fixture(scope="module")
def holdout_refunds_dropped(shop_raw, shop_before, tmp_path_factory) -> tuple:
    workdir = tmp_path_factory.mktemp("shop_refunds")
    raw, dropped = _changed_copy(shop_raw, workdir, _holdout_refunds_of_calibration_orders_dropped)
    return shop_before, _build_shop(raw, workdir), dropped


def test_holdout_refunds_do_not_reach_the_calibration_fit(holdout_refunds_dropped) -> None:
    before, after, dropped = holdout_refunds_dropped
    assert dropped > 0  # the generated shop refunds some calibration orders in the holdout
    pd.testing.assert_frame_equal(_calibration_fit(after), _calibration_fit(before))


# --- a shop too young to backtest -----------------------------------------------------------------


@pytest.fixture(scope="module")
def short_history(tmp_path_factory) -> DbtResult:
    """A shop with 0.6 years of history (219 days): 129 days at the calibration date, below
    clv_min_history_days (180), and enough at the as-of date. The fallback is set to a model
    other than the default, so the test sees the var at work."""
    raw = tmp_path_factory.mktemp("young_shop") / "raw"
    generate(1_500, SHOP_AS_OF, years=0.6, seed=5, out_dir=raw)
    return run_dbt(
        BACKTEST_SELECTION,
        tmp_path_factory.mktemp("young_shop_build"),
        {
            "raw_data_path": str(raw),
            "as_of_date": SHOP_AS_OF.isoformat(),
            "clv_model_fallback": "mbgnbd",
        },
    )


def test_short_history_is_said_and_auto_falls_back(short_history) -> None:
    database = short_history.database
    readiness = _frame(
        database,
        "select fit_scope, is_ready, failed_readiness_checks, history_days "
        "from marts.clv_model_diagnostics where model_name = 'gamma_gamma'",
    ).set_index("fit_scope")
    assert readiness.loc["backtest", "failed_readiness_checks"] == "history_days"
    assert (
        readiness.loc["backtest", "history_days"] < 180 <= readiness.loc["current", "history_days"]
    )
    assert readiness.loc["current", "is_ready"]

    rows = _model_rows(database)
    assert len(rows) > 0 and set(rows["backtest_status"]) == {"history_too_short"}
    assert rows["value"].isna().all()
    assert all("history_days" in detail for detail in rows["status_detail"])

    current = _current_purchase_model(database)
    assert current["model_name"] == "mbgnbd" and current["is_chosen"]
    reason = current["choice_reason"]
    assert "clv_model_fallback" in reason and "history_days" in reason, reason
    chosen = _frame(
        database, "select distinct model from marts.clv_backtest_metrics where is_chosen"
    )
    assert chosen["model"].tolist() == ["mbgnbd"]
    assert set(rows["model"]) == CANDIDATES

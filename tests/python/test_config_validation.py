"""Invalid configuration stops the run at once, naming the var, the value and what is allowed."""

from __future__ import annotations

import pytest

from dbt_harness import FIXTURES_DIR, run_dbt

BASE_VARS = {"raw_data_path": str(FIXTURES_DIR / "bad_input"), "as_of_date": "2024-06-30"}


INVALID = {
    "recent_purchase_days": (-5, "var recent_purchase_days = -5 is out of range"),
    "clv_history_days": ("many", "var clv_history_days = many is not a whole number"),
    "churn_risk_high_min": (1.5, "var churn_risk_high_min = 1.5 is out of range"),
    "clv_tier_basis": ("lifetime", "var clv_tier_basis = lifetime is not allowed"),
    "include_pos_orders": ("yes", "var include_pos_orders = yes is not a boolean"),
    "high_value_aov": (-1, "var high_value_aov = -1 is not allowed"),
    "rfm_recency_days": ([365, 180], "var rfm_recency_days = [365, 180] is not allowed"),
    "reporting_currency": ("euro", "var reporting_currency = euro is not an ISO 4217 code"),
    # 0 buckets would leave int_events_aggregated_to_customer_days without a select
    "engagement_day_hash_partitions": (0, "var engagement_day_hash_partitions = 0 is out of range"),
    # read by dbt when it parses the sources (models/staging/shop/_shop__sources.yml)
    "freshness_warn_days_daily": ("soon", "var freshness_warn_days_daily = soon is not a whole"),
}


def _assert_stopped_before_building(result):
    assert result.returncode != 0
    assert not result.database.exists() or not result.query(
        "select * from information_schema.tables where table_schema = 'reference'"
    ), "the run went on and built seeds despite the invalid configuration"


@pytest.fixture(scope="module")
def invalid_run(tmp_path_factory):
    # The validator reports every problem at once: one run shows all of them.
    overrides = {name: value for name, (value, _) in INVALID.items()}
    return run_dbt(
        ["seed"], tmp_path_factory.mktemp("invalid"), {**BASE_VARS, **overrides}, check=False
    )


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_var_stops_the_run_with_its_name(name, invalid_run):
    _assert_stopped_before_building(invalid_run)
    assert INVALID[name][1] in invalid_run.output


def test_vars_that_contradict_each_other_stop_the_run(tmp_path):
    result = run_dbt(["seed"], tmp_path, {**BASE_VARS, "recent_purchase_days": 400}, check=False)
    _assert_stopped_before_building(result)
    assert "var recent_purchase_days = 400 must not exceed var lapsed_purchase_days = 395" in (
        result.output
    )


def test_malformed_as_of_date_stops_the_run(tmp_path):
    result = run_dbt(["seed"], tmp_path, {**BASE_VARS, "as_of_date": "23/11/2026"}, check=False)
    _assert_stopped_before_building(result)
    assert "var as_of_date = '23/11/2026' is not a date" in result.output


@pytest.mark.parametrize("value", ["2025-13-45", "2023-02-29"])
def test_impossible_as_of_date_names_the_var(value, tmp_path):
    result = run_dbt(["seed"], tmp_path, {**BASE_VARS, "as_of_date": value}, check=False)
    _assert_stopped_before_building(result)
    assert f"var as_of_date = '{value}' is not a calendar date" in result.output
    assert "strptime" not in result.output and "does not match format" not in result.output


def test_valid_configuration_runs(tmp_path):
    result = run_dbt(["seed"], tmp_path, BASE_VARS)
    assert result.returncode == 0


def test_missing_required_raw_table_names_the_file(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "customers.csv").write_text(
        (FIXTURES_DIR / "bad_input" / "customers.csv").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    vars_ = {**BASE_VARS, "raw_data_path": str(raw)}
    result = run_dbt(["seed"], tmp_path, vars_, check=False, raw_link=False)
    assert result.returncode != 0
    assert "Required raw table 'orders' not found" in result.output
    assert str(raw / "orders.parquet") in result.output


def test_raw_file_missing_a_column_names_the_column_and_file(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    for name in ("customers", "orders"):
        text = (FIXTURES_DIR / "bad_input" / f"{name}.csv").read_text(encoding="utf-8")
        if name == "orders":  # drop the currency column
            text = "\n".join(
                ",".join(cell for i, cell in enumerate(line.split(",")) if i != 4)
                for line in text.splitlines()
            )
        (raw / f"{name}.csv").write_text(text, encoding="utf-8")
    vars_ = {**BASE_VARS, "raw_data_path": str(raw)}
    result = run_dbt(["seed"], tmp_path, vars_, check=False, raw_link=False)
    assert result.returncode != 0
    assert f"Raw file {raw / 'orders.csv'} is missing column(s) currency" in result.output


def test_missing_optional_tables_mean_none(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    for name in ("customers", "orders"):
        (raw / f"{name}.csv").write_text(
            (FIXTURES_DIR / "bad_input" / f"{name}.csv").read_text(encoding="utf-8"),
            encoding="utf-8",
        )
    result = run_dbt(["build"], tmp_path, {**BASE_VARS, "raw_data_path": str(raw)})
    assert result.query("select count(*) from raw.events")[0][0] == 0
    assert result.query("select count(*) from staging.stg_shop__refunds")[0][0] == 0
    assert result.query("select count(*) from staging.stg_shop__orders")[0][0] > 0


def test_reporting_currency_without_rates_stops_the_run(tmp_path):
    # JPY is a valid ISO code but seeds/fx_rates.csv has no rates to it: without the check every
    # order would be rejected unknown_currency and the run would carry on with no orders.
    result = run_dbt(
        ["build", "--select", "+base_shop__orders", "--indirect-selection", "cautious"],
        tmp_path,
        {**BASE_VARS, "reporting_currency": "JPY"},
        check=False,
    )
    assert result.returncode != 0
    assert "var reporting_currency = JPY has no rates in seeds/fx_rates.csv" in result.output
    assert "(it has rates to: EUR, USD)" in result.output
    assert not result.query(
        "select * from information_schema.tables where table_name = 'base_shop__orders'"
    )

"""A run that survives bad data, bad config and reruns: each case builds the whole project and
asserts the behaviour (identical reruns, incremental = full refresh, degenerate shops explained)."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from dbt_harness import DbtResult, built_once, built_once_result, run_dbt

AS_OF_DATE = "2026-11-20"
SMALL_SHOP = 3_000
MART_KEYS = {
    "customer_predictions": "customer_id",
    "clv_model_parameters": "model_name, parameter_name",
    "rejected_rows": "rejected_row_id",
    "raw_row_reconciliation": "source_table",
    "customer_segments": "segment_name, customer_id",
    "customer_personas": "customer_id",
    "segment_summary": "segment_name",
}


@pytest.fixture(scope="session")
def small_raw(tmp_path_factory) -> Path:
    def write(folder: Path) -> dict:
        subprocess.run(
            [str(Path(sys.executable).with_name("clv-segments")), "generate", "--customers",
             str(SMALL_SHOP), "--as-of-date", AS_OF_DATE, "--out", str(folder / "raw"),
             "--seed", "7"],
            check=True, capture_output=True,
        )  # fmt: skip
        return {"raw": str(folder / "raw")}

    return Path(built_once(tmp_path_factory, "robustness_raw", write)["raw"])


@pytest.fixture(scope="session")
def small_build(small_raw, tmp_path_factory) -> DbtResult:
    """The small shop built from nothing as of AS_OF_DATE (a full refresh), once for both
    workers; read-only: a test that builds again works on a copy."""

    return built_once_result(
        tmp_path_factory,
        "robustness_build",
        lambda folder: run_dbt(
            ["build"], folder, {"raw_data_path": str(small_raw), "as_of_date": AS_OF_DATE}
        ),
    )


def _fingerprint(result: DbtResult, table: str, order_by: str) -> list[tuple]:
    return result.query(f"select * from marts.{table} order by {order_by}")


def _marts(result: DbtResult) -> dict[str, list[tuple]]:
    present = {row[0] for row in result.query(
        "select table_name from information_schema.tables where table_schema = 'marts'"
    )}  # fmt: skip
    return {t: _fingerprint(result, t, k) for t, k in MART_KEYS.items() if t in present}


def test_two_consecutive_runs_give_identical_marts(small_raw, small_build, tmp_path):
    # the second run builds over the first one's warehouse (a copy of the shared build)
    database = tmp_path / "warehouse.duckdb"
    shutil.copyfile(small_build.database, database)
    dbt_vars = {"raw_data_path": str(small_raw), "as_of_date": AS_OF_DATE}
    first = _marts(small_build)
    second = _marts(run_dbt(["build"], tmp_path, dbt_vars, database=database))
    assert set(first) >= {"customer_predictions", "rejected_rows"}
    for table in first:
        assert first[table] == second[table], f"marts.{table} changed between two identical runs"


def test_incremental_run_after_appending_data_equals_full_refresh(small_raw, small_build, tmp_path):
    # Data up to 50 days before the as-of date is "loaded" first (later rows are not used yet);
    # moving the as-of date appends 50 days of orders, refunds and events. The full refresh is
    # the shared build: the same raw files and as-of date, built from nothing.
    earlier = (date.fromisoformat(AS_OF_DATE) - timedelta(days=50)).isoformat()
    raw_vars = {"raw_data_path": str(small_raw)}
    run_dbt(["build"], tmp_path, {**raw_vars, "as_of_date": earlier})
    incremental = run_dbt(["build"], tmp_path, {**raw_vars, "as_of_date": AS_OF_DATE})
    full = small_build

    for model, key in [
        ("intermediate.int_orders_aggregated_to_customer_days", "customer_id, ordered_date"),
        ("intermediate.int_events_aggregated_to_customer_days",
         "customer_id, occurred_date, event_type"),
    ]:  # fmt: skip
        rows = incremental.query(f"select * from {model} order by {key}")
        assert rows == full.query(f"select * from {model} order by {key}"), model
        assert incremental.query(f"select max({key.split(', ')[1]}) from {model}")[0][0] > (
            date.fromisoformat(earlier)
        ), f"{model} did not receive the appended days"
    assert _marts(incremental) == _marts(full)


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


CUSTOMER_HEADER = ["customer_id", "email", "created_at", "country_code", "region", "city",
                   "accepts_marketing"]  # fmt: skip
ORDER_HEADER = ["order_id", "customer_id", "ordered_at", "amount", "currency", "status",
                "channel", "is_subscription"]  # fmt: skip


def _shop(tmp_path: Path, n_customers: int, orders: list[list[str]]) -> Path:
    raw = tmp_path / "raw"
    raw.mkdir()
    _write_csv(raw / "customers.csv", CUSTOMER_HEADER, [
        [f"c{i}", f"c{i}@example.com", "2025-01-01", "FR", "", "", "true"]
        for i in range(n_customers)
    ])  # fmt: skip
    _write_csv(raw / "orders.csv", ORDER_HEADER, orders)
    return raw


def _diagnostics(result: DbtResult) -> dict[str, tuple]:
    return {
        row[0]: row[1:]
        for row in result.query(
            "select model_name, status, failed_readiness_checks, status_detail "
            "from marts.clv_model_diagnostics where fit_scope = 'current'"
        )
    }


def test_empty_orders_table_builds_and_says_why_there_are_no_predictions(tmp_path):
    raw = _shop(tmp_path, 5, [])
    result = run_dbt(["build"], tmp_path, {"raw_data_path": str(raw), "as_of_date": AS_OF_DATE})
    assert result.query(
        "select prediction_status, count(*) from marts.customer_predictions group by 1"
    ) == [("no_valid_order", 5)]
    status, failed, _ = _diagnostics(result)["bgnbd"]
    assert status == "not_ready"
    assert (
        failed == "customers_with_3_orders, customers_with_valid_order, history_days, recent_order"
    )


def test_single_customer_builds_with_history_and_the_gate_closed(tmp_path):
    raw = _shop(tmp_path, 1, [
        ["o1", "c0", "2026-01-05", "40.00", "EUR", "placed", "online", "false"],
        ["o2", "c0", "2026-11-10", "60.00", "EUR", "placed", "online", "false"],
    ])  # fmt: skip
    result = run_dbt(["build"], tmp_path, {"raw_data_path": str(raw), "as_of_date": AS_OF_DATE})
    row = result.query(
        "select historic_clv, historic_number_of_orders, predicted_clv, prediction_status "
        "from marts.customer_predictions"
    )
    assert [(float(row[0][0]), *row[0][1:])] == [(100.0, 2, None, "model_not_ready")]
    assert _diagnostics(result)["bgnbd"][1] == "customers_with_3_orders, customers_with_valid_order"


def _one_time_buyers(tmp_path: Path) -> Path:
    as_of = date.fromisoformat(AS_OF_DATE)
    orders = [
        [f"o{i}", f"c{i}", (as_of - timedelta(days=i % 300)).isoformat(), "30.00", "EUR",
         "placed", "online", "false"]
        for i in range(600)
    ]  # fmt: skip
    return _shop(tmp_path, 600, orders)


def test_only_one_time_buyers_close_the_gate(tmp_path):
    raw = _one_time_buyers(tmp_path)
    result = run_dbt(["build"], tmp_path, {"raw_data_path": str(raw), "as_of_date": AS_OF_DATE})
    assert _diagnostics(result)["bgnbd"][:2] == ("not_ready", "customers_with_3_orders")
    assert result.query("select distinct prediction_status from marts.customer_predictions") == [
        ("model_not_ready",)
    ]


def test_only_one_time_buyers_with_the_gate_opened_report_the_failed_fit(tmp_path):
    raw = _one_time_buyers(tmp_path)
    result = run_dbt(["build"], tmp_path, {
        "raw_data_path": str(raw), "as_of_date": AS_OF_DATE, "clv_min_customers_with_3_orders": 0,
    })  # fmt: skip
    status, failed, detail = _diagnostics(result)["bgnbd"]
    assert (status, failed) == ("failed", None)
    assert "BG/NBD fit failed" in detail and "penalizer" in detail
    assert result.query(
        "select distinct prediction_status, predicted_clv from marts.customer_predictions"
    ) == [("model_failed", None)]
    assert "WARN" in result.output  # the fit status test warns, the build does not fail


def test_no_engagement_at_all_builds(small_raw, tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(small_raw, raw)
    (raw / "events.parquet").unlink()
    result = run_dbt(["build"], tmp_path, {"raw_data_path": str(raw), "as_of_date": AS_OF_DATE})
    assert result.query("select count(*) from raw.events")[0][0] == 0
    assert (
        result.query(
            "select count(*) from marts.customer_predictions where prediction_status = 'scored'"
        )[0][0]
        > 500
    )

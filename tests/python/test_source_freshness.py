"""`dbt source freshness` on the as-of clock, with the thresholds of its vars.

A two-table shop whose newest order and newest customer profile are a known number of days before
the end of the as-of date: the default thresholds warn, thresholds raised by vars pass. An order
dated after the as-of date does not make the orders look fresh, and a UTC offset is applied
(macros/collect_freshness.sql, DECISIONLOG "Source freshness").
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from dbt_harness import run_dbt

AS_OF_DATE = "2024-06-30"  # the clock: the end of the as-of date, 2024-07-01 00:00 UTC
CUSTOMERS = [
    ["c1", "a@example.com", "2024-01-05 09:00:00", "FR", "IDF", "Paris", "true"],
    # the newest profile: 10.5 days before the clock
    ["c2", "b@example.com", "2024-06-20 12:00:00", "FR", "IDF", "Paris", "false"],
]
ORDERS = [
    ["o1", "c1", "2024-06-27 10:00:00", "40.00", "EUR", "placed", "online", "false"],
    # the newest order: 2024-06-27 20:00 UTC, 3 days and 4 hours before the clock
    ["o2", "c2", "2024-06-28 01:00:00+05:00", "25.00", "EUR", "placed", "online", "false"],
    # after the as-of date: staging rejects it, and it must not make the table look fresh
    ["o3", "c2", "2024-07-05 09:00:00", "30.00", "EUR", "placed", "online", "false"],
]
SOURCES = "source:shop.orders source:shop.customers"


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("freshness_raw")
    _write(
        folder / "customers.csv",
        ["customer_id", "email", "created_at", "country_code", "region", "city",
         "accepts_marketing"],
        CUSTOMERS,
    )  # fmt: skip
    _write(
        folder / "orders.csv",
        ["order_id", "customer_id", "ordered_at", "amount", "currency", "status", "channel",
         "is_subscription"],
        ORDERS,
    )  # fmt: skip
    return folder


def _freshness(raw: Path, workdir: Path, **thresholds: int) -> dict[str, dict]:
    result = run_dbt(
        ["source", "freshness", "--select", *SOURCES.split()],
        workdir,
        {"raw_data_path": str(raw), "as_of_date": AS_OF_DATE, **thresholds},
        check=False,
    )
    assert result.returncode == 0, result.output[-4000:]
    sources = json.loads((result.target_dir / "sources.json").read_text())["results"]
    return {entry["unique_id"].rsplit(".", 1)[-1]: entry for entry in sources}


def test_default_thresholds_warn_on_the_as_of_clock(raw, tmp_path):
    results = _freshness(raw, tmp_path)
    orders, customers = results["orders"], results["customers"]
    assert orders["max_loaded_at"].startswith("2024-06-27T20:00:00")
    assert orders["snapshotted_at"].startswith("2024-07-01T00:00:00")
    assert orders["max_loaded_at_time_ago_in_s"] == pytest.approx((3 * 24 + 4) * 3600)
    assert orders["criteria"]["warn_after"] == {"count": 2, "period": "day"}
    assert orders["status"] == "warn"
    assert customers["max_loaded_at"].startswith("2024-06-20T12:00:00")
    assert customers["criteria"]["warn_after"] == {"count": 7, "period": "day"}
    assert customers["status"] == "warn"


def test_thresholds_come_from_the_vars(raw, tmp_path):
    results = _freshness(
        raw, tmp_path, freshness_warn_days_daily=4, freshness_warn_days_profiles=11
    )
    assert results["orders"]["criteria"]["warn_after"] == {"count": 4, "period": "day"}
    assert results["customers"]["criteria"]["warn_after"] == {"count": 11, "period": "day"}
    assert results["orders"]["status"] == "pass"
    assert results["customers"]["status"] == "pass"

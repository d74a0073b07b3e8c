"""A bad-input corpus: one small raw data set per kind of damage, each asserting what is rejected,
with which reason, and that nothing else is lost.

Every case starts from the same clean shop (BASE: 3 customers, 4 orders, 1 refund, 3 events) and
adds one kind of damage. The expected rejections are written by hand from DESIGN.md "Bad input".
The clean rows of the base must all survive: damage never costs a good row.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from dbt_harness import run_dbt

AS_OF_DATE = "2024-06-30"
HEADERS = {
    "customers": [
        "customer_id", "email", "created_at", "country_code", "region", "city", "accepts_marketing",
    ],
    "orders": [
        "order_id", "customer_id", "ordered_at", "amount", "currency", "status", "channel",
        "is_subscription",
    ],
    "refunds": ["refund_id", "order_id", "refunded_at", "amount"],
    "events": [
        "event_id", "customer_id", "event_type", "occurred_at", "campaign_id", "is_machine_open",
    ],
}  # fmt: skip
BASE = {
    "customers": [
        ["c1", "a@example.com", "2023-01-01", "FR", "", "Paris", "true"],
        ["c2", "b@example.com", "2023-01-01", "DE", "", "Berlin", "false"],
        ["c3", "c@example.com", "2023-01-01", "FR", "", "Lyon", "true"],
    ],
    "orders": [
        ["o1", "c1", "2024-01-10 10:00:00", "100.00", "EUR", "placed", "online", "false"],
        ["o2", "c1", "2024-02-10 10:00:00", "50.00", "EUR", "placed", "online", "false"],
        ["o3", "c2", "2024-03-01 10:00:00", "80.00", "EUR", "placed", "online", "false"],
        ["o4", "c3", "2024-04-01 10:00:00", "20.00", "EUR", "placed", "pos", "false"],
    ],
    "refunds": [["r1", "o1", "2024-01-12", "10.00"]],
    "events": [
        ["e1", "c1", "email_opened", "2024-06-01", "camp1", "false"],
        ["e2", "c2", "site_active", "2024-06-02", "", ""],
        ["e3", "c3", "product_viewed", "2024-06-03", "", ""],
    ],
}
CLEAN_BASE_ROWS = {table: len(rows) for table, rows in BASE.items()}

# kind of damage -> (rows added per table, expected rejections as (table, key, reason))
CASES = {
    "nulls": (
        {
            "customers": [["c9", "z@example.com", "", "FR", "", "", "true"]],
            "orders": [["o9", "", "2024-03-05", "10.00", "EUR", "placed", "online", "false"]],
            "events": [["", "c1", "site_active", "2024-06-05", "", ""]],
        },
        [
            ("customers", "c9", "unparseable_timestamp"),
            ("orders", "o9", "missing_customer_id"),
            ("events", "", "missing_key"),
        ],
    ),
    "duplicates_with_conflicts": (
        {
            "orders": [
                ["o1", "c1", "2024-01-10 10:00:00", "100.00", "EUR", "placed", "online", "false"],
                ["o9", "c2", "2024-03-05", "10.00", "EUR", "placed", "online", "false"],
                ["o9", "c2", "2024-03-05", "12.00", "EUR", "placed", "online", "false"],
            ],
        },
        [("orders", "o9", "duplicate_key_conflict"), ("orders", "o9", "duplicate_key_conflict")],
    ),
    "negative_and_absurd_amounts": (
        {
            "orders": [
                ["o8", "c1", "2024-03-05", "-5.00", "EUR", "placed", "online", "false"],
                ["o9", "c1", "2024-03-05", "9000000000", "EUR", "placed", "online", "false"],
            ],
            "refunds": [["r9", "o2", "2024-02-11", "-1.00"]],
        },
        [
            ("orders", "o8", "negative_amount"),
            ("orders", "o9", "amount_above_maximum"),
            ("refunds", "r9", "negative_amount"),
        ],
    ),
    "refunds_larger_than_orders": (
        {"refunds": [["r8", "o2", "2024-02-11", "30.00"], ["r9", "o2", "2024-02-12", "30.00"]]},
        [("refunds", "r9", "refund_exceeds_order")],
    ),
    "orphan_refunds": (
        {"refunds": [["r9", "o404", "2024-02-11", "5.00"]]},
        [("refunds", "r9", "orphan_refund")],
    ),
    "unparseable_timestamps": (
        {
            "orders": [["o9", "c1", "last tuesday", "10.00", "EUR", "placed", "online", "false"]],
            "events": [["e9", "c1", "site_active", "2024-13-45", "", ""]],
        },
        [("orders", "o9", "unparseable_timestamp"), ("events", "e9", "unparseable_timestamp")],
    ),
    "future_timestamps": (
        {
            "orders": [
                ["o9", "c1", "2024-07-01 00:00:00", "10.00", "EUR", "placed", "online", "f"]
            ],
            "events": [["e9", "c1", "site_active", "2025-01-01", "", ""]],
            "customers": [["c9", "z@example.com", "2024-12-01", "FR", "", "", "true"]],
        },
        [
            ("orders", "o9", "after_as_of_date"),
            ("events", "e9", "after_as_of_date"),
            ("customers", "c9", "after_as_of_date"),
        ],
    ),
    "unknown_currencies": (
        {"orders": [["o9", "c1", "2024-03-05", "10.00", "ZZZ", "placed", "online", "false"]]},
        [("orders", "o9", "unknown_currency")],
    ),
    "unknown_event_types": (
        {"events": [["e9", "c1", "push_sent", "2024-06-05", "", ""]]},
        [("events", "e9", "unknown_event_type")],
    ),
    "mixed_time_zones": (
        {
            "orders": [
                ["o8", "c1", "2024-03-01T23:30:00-05:00", "10.00", "EUR", "placed", "online", "0"],
                ["o9", "c2", "2024-03-02T01:30:00+02:00", "10.00", "EUR", "placed", "online", "0"],
            ]
        },
        [],
    ),
    "ids_differing_by_case_or_whitespace": (
        {
            "customers": [[" C1 ", "a@example.com", "2023-01-01", "FR", "", "Paris", "true"]],
            "orders": [["o9", "C2", "2024-03-05", "10.00", "EUR", "placed", "online", "false"]],
        },
        [],
    ),
}


def _write(raw: Path, rows_by_table: dict[str, list[list[str]]]) -> None:
    raw.mkdir(parents=True, exist_ok=True)
    for table, header in HEADERS.items():
        with (raw / f"{table}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows_by_table.get(table, []))


def _build(tmp_path: Path, added: dict[str, list[list[str]]], **extra_vars):
    rows = {table: BASE[table] + added.get(table, []) for table in HEADERS}
    _write(tmp_path / "raw", rows)
    return run_dbt(
        ["build", "--select", "+rejected_rows", "+raw_row_reconciliation",
         "+int_orders_netted", "--indirect-selection", "cautious"],
        tmp_path,
        {"raw_data_path": str(tmp_path / "raw"), "as_of_date": AS_OF_DATE, **extra_vars},
    ), rows  # fmt: skip


@pytest.mark.parametrize("kind", sorted(CASES))
def test_damage_is_rejected_with_its_reason_and_nothing_else_is_lost(kind, tmp_path):
    added, expected = CASES[kind]
    result, rows = _build(tmp_path, added)
    rejected = Counter(
        result.query(
            "select source_table, coalesce(record_key, ''), rejection_reason "
            "from marts.rejected_rows"
        )
    )
    assert rejected == Counter(expected)
    for table in CLEAN_BASE_ROWS:
        clean_ids = {row[0] for row in result.query(f"select * from staging.stg_shop__{table}")}
        base_ids = {row[0] for row in BASE[table]}
        assert base_ids <= clean_ids, f"{kind}: clean {table} rows were lost"
    reconciliation = dict(
        result.query("select source_table, accounted_rows from marts.raw_row_reconciliation")
    )
    for table in HEADERS:
        assert reconciliation[table] == len(rows[table])


def test_mixed_time_zones_land_on_their_utc_day(tmp_path):
    result, _ = _build(tmp_path, CASES["mixed_time_zones"][0])
    days = dict(
        result.query(
            "select order_id, cast(ordered_date as varchar) from staging.stg_shop__orders "
            "where order_id in ('o8', 'o9')"
        )
    )
    # 23:30 at UTC-5 is 04:30 UTC the next day; 01:30 at UTC+2 is 23:30 UTC the day before.
    assert days == {"o8": "2024-03-02", "o9": "2024-03-01"}


def test_ids_differing_by_case_or_whitespace_are_one_customer(tmp_path):
    result, _ = _build(tmp_path, CASES["ids_differing_by_case_or_whitespace"][0])
    assert result.query(
        "select n_copies from staging.base_shop__customers where customer_id = 'c1'"
    ) == [(2,)]
    assert result.query(
        "select customer_id from staging.stg_shop__orders where order_id = 'o9'"
    ) == [("c2",)]


def test_non_utf8_text_stops_with_the_file_and_the_fix(tmp_path):
    raw = tmp_path / "raw"
    _write(raw, BASE)
    with (raw / "customers.csv").open("ab") as handle:
        handle.write("c9,m@example.com,2023-01-01,DE,,München,true\r\n".encode("latin-1"))
    vars_ = {"raw_data_path": str(raw), "as_of_date": AS_OF_DATE}
    failed = run_dbt(["seed"], tmp_path / "utf8", vars_, check=False)
    assert failed.returncode != 0
    assert f"Raw file {raw / 'customers.csv'} is not valid UTF-8 text" in failed.output
    assert "raw_csv_encoding" in failed.output

    # The whole file is latin-1 (ASCII rows are identical in both): declared, it loads intact.
    ok = run_dbt(
        ["build", "--select", "+stg_shop__customers", "--indirect-selection", "cautious"],
        tmp_path / "latin1",
        {**vars_, "raw_csv_encoding": "latin-1"},
    )
    assert ok.query("select city from staging.stg_shop__customers where customer_id = 'c9'") == [
        ("München",)
    ]

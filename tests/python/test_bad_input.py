"""Bad input never disappears: the hand-written fixture in tests/fixtures/bad_input is built, and
every rejected row, its reason, and the per-table reconciliation are checked against what the
fixture's author wrote down (expected_rejections.csv) and against the raw files themselves."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from conftest import BAD_INPUT

from dbt_harness import PROJECT_DIR

TABLES = ["customers", "orders", "refunds", "events", "list_memberships", "suppressions"]


def _read_csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _all_reason_codes() -> list[str]:
    return [
        row["rejection_reason"]
        for row in _read_csv(PROJECT_DIR / "seeds" / "rejection_reasons.csv")
    ]


@pytest.fixture(scope="module")
def rejected(bad_input_build):
    rows = bad_input_build.query(
        "select source_table, coalesce(record_key, ''), rejection_reason from marts.rejected_rows"
    )
    return Counter(rows)


def test_rejections_are_exactly_the_expected_ones(rejected):
    expected = Counter(
        (row["source_table"], row["record_key"], row["rejection_reason"])
        for row in _read_csv(BAD_INPUT / "expected_rejections.csv")
    )
    assert rejected == expected


@pytest.mark.parametrize("reason", _all_reason_codes())
def test_each_reason_code_is_produced(reason, rejected):
    produced = {key[2] for key in rejected}
    assert reason in produced, f"no fixture row was rejected with {reason}"


@pytest.mark.parametrize("table", TABLES)
def test_raw_rows_equal_clean_plus_rejected_plus_collapsed(table, bad_input_build):
    raw_rows = len(_read_csv(BAD_INPUT / f"{table}.csv"))
    clean, rejected_count, collapsed, accounted = bad_input_build.query(
        "select clean_rows, rejected_rows, collapsed_duplicates, accounted_rows "
        f"from marts.raw_row_reconciliation where source_table = '{table}'"
    )[0]
    assert clean == bad_input_build.query(f"select count(*) from staging.stg_shop__{table}")[0][0]
    assert clean + rejected_count + collapsed == accounted == raw_rows


def test_exact_duplicates_and_ids_differing_by_case_or_space_collapse(bad_input_build):
    # customers.csv holds c2 twice verbatim and " C3 " / "c3": one clean row each.
    rows = bad_input_build.query(
        "select customer_id, n_copies from staging.base_shop__customers "
        "where customer_id in ('c2', 'c3') order by 1"
    )
    assert rows == [("c2", 2), ("c3", 2)]


def test_offsets_are_converted_to_utc(bad_input_build):
    # o3 was placed at 2024-03-01 23:30 at UTC-5, that is 2024-03-02 04:30 UTC.
    (ordered_at,) = bad_input_build.query(
        "select cast(ordered_at as varchar) from staging.stg_shop__orders where order_id = 'o3'"
    )[0]
    assert ordered_at == "2024-03-02 04:30:00"


def test_amounts_are_netted_and_converted(bad_input_build):
    # o1: 100 EUR with refunds 60 (kept) and 50 (rejected: would exceed the order) -> net 40.
    # o2: 50 USD at 0.92 = 46 EUR, refund 10 USD = 9.20 EUR -> net 36.80.
    rows = dict(
        bad_input_build.query(
            "select order_id, net_amount from intermediate.int_orders_netted "
            "where order_id in ('o1', 'o2')"
        )
    )
    assert float(rows["o1"]) == pytest.approx(40.0)
    assert float(rows["o2"]) == pytest.approx(36.8)


def test_orders_that_do_not_count_say_why(bad_input_build):
    rows = dict(
        bad_input_build.query(
            "select order_id, exclusion_reason from intermediate.int_orders_netted "
            "where order_id in ('o14', 'o15', 'o16', 'o17')"
        )
    )
    assert rows == {"o14": "zero_value", "o15": "cancelled", "o16": "fully_refunded", "o17": None}


def test_build_output_reports_rejected_rows_per_table_and_reason(bad_input_build):
    # The on-run-end hook prints, per raw table, each reason code and its count (expected from the
    # fixture author's list), and never a row's values.
    expected = Counter(
        (row["source_table"], row["rejection_reason"])
        for row in _read_csv(BAD_INPUT / "expected_rejections.csv")
    )
    report = [
        line.split("rejected rows: ", 1)[1]
        for line in bad_input_build.output.splitlines()
        if "rejected rows: " in line
    ]
    for table in TABLES:
        reasons = sorted(
            ((reason, n) for (t, reason), n in expected.items() if t == table),
            key=lambda item: (-item[1], item[0]),
        )
        line = f"{table}: " + (", ".join(f"{r} {n}" for r, n in reasons) or "none")
        assert line in report
    assert not any("@" in line for line in report), "the report shows row values"

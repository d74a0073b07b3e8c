"""A bad-input corpus: one small raw data set per kind of damage, each asserting what is rejected,
with which reason, and that nothing else is lost.

Every case starts from the same clean shop (BASE: 3 customers, 4 orders, 1 refund, 3 events) and
adds one kind of damage: damaged rows (CASES), damaged files (FILE_CASES: line endings, byte-order
mark, header-only and 0-byte files, extra or reordered columns, blank lines) or damage that must
stop the run with a message naming the file or var (the tests at the end). The expected
rejections are written by hand from DESIGN.md "Bad input".
The clean rows of the base must all survive: damage never costs a good row.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from dbt_harness import built_once_result, run_dbt

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
    # offsets written after a space, or without minutes, as some exports write them: all parse
    "utc_offsets_after_a_space": (
        {
            "orders": [
                ["o5", "c1", "2024-03-01 23:30:03 -0500", "10.00", "EUR", "placed", "online", "0"],
                ["o6", "c1", "2024-03-02 01:30:00 +05:30", "10.00", "EUR", "placed", "online", "0"],
                ["o7", "c2", "2024-03-02 01:30:00 Z", "10.00", "EUR", "placed", "online", "0"],
                ["o8", "c2", "2024-03-02 01:30:00 +02", "10.00", "EUR", "placed", "online", "0"],
                ["o9", "c3", "2024-03-02 01:30:00-0130", "10.00", "EUR", "placed", "online", "0"],
            ],
            "events": [["e9", "c1", "site_active", "2024-06-05 08:00:00.250 +0200", "", ""]],
        },
        [],
    ),
    "far_future_and_ancient_dates": (
        {
            "orders": [
                ["o8", "c1", "2999-01-01 00:00:00", "10.00", "EUR", "placed", "online", "false"],
                ["o9", "c1", "10000-01-01", "10.00", "EUR", "placed", "online", "false"],
            ],
            "customers": [["c9", "z@example.com", "1900-01-01", "FR", "", "", "true"]],
        },
        [("orders", "o8", "after_as_of_date"), ("orders", "o9", "after_as_of_date")],
    ),
    # the contract's amounts are plain decimals with a dot: anything else is rejected, not guessed
    "amounts_with_separators_or_symbols": (
        {
            "orders": [
                ["o7", "c1", "2024-03-05", "1,234.50", "EUR", "placed", "online", "false"],
                ["o8", "c1", "2024-03-05", "12,50", "EUR", "placed", "online", "false"],
                ["o9", "c1", "2024-03-05", "€10.00", "EUR", "placed", "online", "false"],
                ["o6", "c2", "2024-03-05", " 10.00 ", "EUR", "placed", "online", "false"],
            ],
            "refunds": [["r9", "o2", "2024-02-11", "1 000"]],
        },
        [
            ("orders", "o7", "unparseable_amount"),
            ("orders", "o8", "unparseable_amount"),
            ("orders", "o9", "unparseable_amount"),
            ("refunds", "r9", "unparseable_amount"),
        ],
    ),
    "booleans_spelled_oddly": (
        {
            "customers": [
                ["c7", "x@example.com", "2023-01-01", "FR", "", "", "TRUE"],
                ["c8", "y@example.com", "2023-01-01", "FR", "", "", " Yes "],
                ["c9", "z@example.com", "2023-01-01", "FR", "", "", "N"],
            ],
            "orders": [
                ["o8", "c1", "2024-03-05", "10.00", "EUR", "placed", "online", "Y"],
                ["o9", "c1", "2024-03-06", "10.00", "EUR", "placed", "online", "F"],
            ],
            "events": [["e9", "c1", "email_opened", "2024-06-05", "camp1", "1"]],
        },
        [],
    ),
    "currency_codes_in_lower_case_or_padded": (
        {
            "orders": [
                ["o8", "c1", "2024-03-05", "10.00", "usd", "placed", "online", "false"],
                ["o9", "c1", "2024-03-06", "10.00", " gbp ", "placed", "online", "false"],
            ]
        },
        [],
    ),
    # csv.writer quotes these fields, as any spreadsheet export does
    "quoted_fields_with_commas_quotes_and_newlines": (
        {
            "customers": [
                [
                    "c8",
                    "x@example.com",
                    "2023-01-01",
                    "FR",
                    "Île-de-France",
                    "Paris, 75001",
                    "true",
                ],
                [
                    "c9",
                    "y@example.com",
                    "2023-01-01",
                    "GB",
                    "line one\nline two",
                    'say "hi"',
                    "true",
                ],
            ],
            "events": [["e9", "c1", "email_clicked", "2024-06-05", "spring, 2024", "false"]],
        },
        [],
    ),
}


def _csv_text(header: list[str], rows: list[list[str]], line_ending: str = "\r\n") -> str:
    lines = []
    for row in [header, *rows]:
        cells = [f'"{cell}"' if "," in cell else cell for cell in row]
        lines.append(",".join(cells) + line_ending)
    return "".join(lines)


def _mixed_line_endings(raw: Path, rows: dict) -> None:
    # rows appended by another tool: LF after the header, CRLF on every other row
    lines = _csv_text(HEADERS["orders"], rows["orders"], "\n").splitlines()
    text = "".join(line + ("\r\n" if i % 2 else "\n") for i, line in enumerate(lines))
    (raw / "orders.csv").write_bytes(text.encode("utf-8"))


def _utf8_bom(raw: Path, rows: dict) -> None:
    text = _csv_text(HEADERS["customers"], rows["customers"])
    (raw / "customers.csv").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))


def _header_only_orders(raw: Path, rows: dict) -> None:
    (raw / "orders.csv").write_text(",".join(HEADERS["orders"]) + "\n", encoding="utf-8")


def _zero_byte_optional_file(raw: Path, rows: dict) -> None:
    (raw / "events.csv").write_bytes(b"")


def _extra_columns(raw: Path, rows: dict) -> None:
    header = [*HEADERS["orders"], "note", "discount_code"]
    extended = [[*row, "gift, wrapped", "SPRING"] for row in rows["orders"]]
    (raw / "orders.csv").write_text(_csv_text(header, extended), encoding="utf-8")


def _columns_in_another_order(raw: Path, rows: dict) -> None:
    order = list(reversed(range(len(HEADERS["orders"]))))
    header = [HEADERS["orders"][i] for i in order]
    shuffled = [[row[i] for i in order] for row in rows["orders"]]
    (raw / "orders.csv").write_text(_csv_text(header, shuffled), encoding="utf-8")


def _blank_lines(raw: Path, rows: dict) -> None:
    text = _csv_text(HEADERS["refunds"], rows["refunds"], "\n")
    (raw / "refunds.csv").write_text("\n" + text.replace("\n", "\n\n"), encoding="utf-8")


# kind of damage to whole files -> (rewrite of the raw folder, rows the rewritten files hold,
# expected rejections as (table, key, reason)); every case below is read, none stops the run
FILE_CASES = {
    "mixed_line_endings": (_mixed_line_endings, {}, []),
    "utf8_byte_order_mark": (_utf8_bom, {}, []),
    # no orders at all: the refund of o1 has no order any more
    "header_only_orders_file": (
        _header_only_orders, {"orders": []}, [("refunds", "r1", "orphan_refund")],
    ),
    # an optional table exported as a 0-byte file (not even a header) is an empty table
    "zero_byte_optional_file": (_zero_byte_optional_file, {"events": []}, []),
    "extra_columns": (_extra_columns, {}, []),
    "columns_in_another_order": (_columns_in_another_order, {}, []),
    "blank_lines": (_blank_lines, {}, []),
}  # fmt: skip


def _write(raw: Path, rows_by_table: dict[str, list[list[str]]]) -> None:
    raw.mkdir(parents=True, exist_ok=True)
    for table, header in HEADERS.items():
        with (raw / f"{table}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows_by_table.get(table, []))


def _build(
    tmp_path: Path, added: dict[str, list[list[str]]], rewrite=None, held=None, **extra_vars
):
    rows = {table: BASE[table] + added.get(table, []) for table in HEADERS}
    _write(tmp_path / "raw", rows)
    if rewrite is not None:
        rewrite(tmp_path / "raw", rows)
        rows = {**rows, **(held or {})}
    return run_dbt(
        ["build", "--select", "+rejected_rows", "+raw_row_reconciliation",
         "+int_orders_netted", "--indirect-selection", "cautious"],
        tmp_path,
        {"raw_data_path": str(tmp_path / "raw"), "as_of_date": AS_OF_DATE, **extra_vars},
    ), rows  # fmt: skip


def _case_build(tmp_path_factory, kind: str):
    """The build of one case of CASES or FILE_CASES, once for the test session: the case's
    parametrized test and the tests that look closer at it read the same warehouse."""
    added, rewrite, held = (
        (CASES[kind][0], None, None) if kind in CASES else ({}, *FILE_CASES[kind][:2])
    )
    result = built_once_result(
        tmp_path_factory, f"corpus_{kind}", lambda folder: _build(folder, added, rewrite, held)[0]
    )
    rows = {table: BASE[table] + added.get(table, []) for table in HEADERS}
    return result, {**rows, **(held or {})}  # the rows the case's files hold, as _build has them


def _assert_rejected_exactly(result, rows, expected, kind):
    rejected = Counter(
        result.query(
            "select source_table, coalesce(record_key, ''), rejection_reason "
            "from marts.rejected_rows"
        )
    )
    assert rejected == Counter(expected)
    rejected_keys = {(table, key) for table, key, _ in expected}
    for table in CLEAN_BASE_ROWS:
        clean_ids = {row[0] for row in result.query(f"select * from staging.stg_shop__{table}")}
        # every base row the damaged files still hold survives, unless the case rejects it
        held_ids = {row[0].strip().lower() for row in rows[table]}
        base_ids = {
            row[0]
            for row in BASE[table]
            if row[0] in held_ids and (table, row[0]) not in rejected_keys
        }
        assert base_ids <= clean_ids, f"{kind}: clean {table} rows were lost"
    reconciliation = dict(
        result.query("select source_table, accounted_rows from marts.raw_row_reconciliation")
    )
    for table in HEADERS:
        assert reconciliation[table] == len(rows[table]), f"{kind}: {table} rows unaccounted for"


@pytest.mark.parametrize("kind", sorted(CASES))
def test_damage_is_rejected_with_its_reason_and_nothing_else_is_lost(kind, tmp_path_factory):
    _, expected = CASES[kind]
    result, rows = _case_build(tmp_path_factory, kind)
    _assert_rejected_exactly(result, rows, expected, kind)


@pytest.mark.parametrize("kind", sorted(FILE_CASES))
def test_damaged_files_are_read_and_nothing_is_lost(kind, tmp_path_factory):
    _, _, expected = FILE_CASES[kind]
    result, rows = _case_build(tmp_path_factory, kind)
    _assert_rejected_exactly(result, rows, expected, kind)
    for table, table_rows in rows.items():
        assert result.query(f"select count(*) from staging.stg_shop__{table}")[0][0] == (
            len(table_rows) - sum(1 for t, _, _ in expected if t == table)
        ), f"{kind}: {table} is not read row for row"


def test_mixed_time_zones_land_on_their_utc_day(tmp_path_factory):
    result, _ = _case_build(tmp_path_factory, "mixed_time_zones")
    days = dict(
        result.query(
            "select order_id, cast(ordered_date as varchar) from staging.stg_shop__orders "
            "where order_id in ('o8', 'o9')"
        )
    )
    # 23:30 at UTC-5 is 04:30 UTC the next day; 01:30 at UTC+2 is 23:30 UTC the day before.
    assert days == {"o8": "2024-03-02", "o9": "2024-03-01"}


def test_a_clean_build_reports_no_rejected_rows(tmp_path):
    result, _ = _build(tmp_path, {})
    assert (
        "rejected rows: no rejected rows "
        "(customers, events, list_memberships, orders, refunds, suppressions)" in result.output
    )


def test_utc_offsets_after_a_space_give_the_exact_utc_instant(tmp_path_factory):
    result, _ = _case_build(tmp_path_factory, "utc_offsets_after_a_space")
    instants = dict(
        result.query(
            "select order_id, strftime(ordered_at, '%Y-%m-%d %H:%M:%S') "
            "from staging.stg_shop__orders where order_id in ('o5', 'o6', 'o7', 'o8', 'o9')"
        )
    )
    assert instants == {
        "o5": "2024-03-02 04:30:03",  # 23:30:03 at UTC-5
        "o6": "2024-03-01 20:00:00",  # 01:30 at UTC+5:30
        "o7": "2024-03-02 01:30:00",  # Z
        "o8": "2024-03-01 23:30:00",  # 01:30 at UTC+2
        "o9": "2024-03-02 03:00:00",  # 01:30 at UTC-1:30
    }
    assert result.query(
        "select strftime(occurred_at, '%Y-%m-%d %H:%M:%S.%g') from staging.stg_shop__events "
        "where event_id = 'e9'"
    ) == [("2024-06-05 06:00:00.250",)]


def test_booleans_spelled_oddly_keep_their_meaning(tmp_path_factory):
    result, _ = _case_build(tmp_path_factory, "booleans_spelled_oddly")
    assert dict(
        result.query(
            "select customer_id, accepts_marketing from staging.stg_shop__customers "
            "where customer_id in ('c7', 'c8', 'c9')"
        )
    ) == {"c7": True, "c8": True, "c9": False}
    assert dict(
        result.query(
            "select order_id, is_subscription from staging.stg_shop__orders "
            "where order_id in ('o8', 'o9')"
        )
    ) == {"o8": True, "o9": False}


def test_quoted_fields_keep_their_commas_quotes_and_newlines(tmp_path_factory):
    result, _ = _case_build(tmp_path_factory, "quoted_fields_with_commas_quotes_and_newlines")
    assert dict(
        result.query(
            "select customer_id, region || ' | ' || city from staging.stg_shop__customers "
            "where customer_id in ('c8', 'c9')"
        )
    ) == {"c8": "Île-de-France | Paris, 75001", "c9": 'line one\nline two | say "hi"'}


def test_columns_in_another_order_land_in_their_own_columns(tmp_path_factory):
    result, _ = _case_build(tmp_path_factory, "columns_in_another_order")
    assert result.query(
        "select order_id, customer_id, cast(amount as varchar), currency_code, channel "
        "from staging.stg_shop__orders where order_id = 'o4'"
    ) == [("o4", "c3", "20.00", "EUR", "pos")]


def test_zero_byte_required_file_stops_with_the_file(tmp_path):
    raw = tmp_path / "raw"
    _write(raw, BASE)
    (raw / "customers.csv").write_bytes(b"")
    vars_ = {"raw_data_path": str(raw), "as_of_date": AS_OF_DATE}
    result = run_dbt(["seed"], tmp_path, vars_, check=False, raw_link=False)
    assert result.returncode != 0
    assert (
        f"Raw file {raw / 'customers.csv'} is empty (0 bytes), but table 'customers' is required"
    ) in result.output


def test_unknown_reporting_currency_stops_instead_of_rejecting_every_order(tmp_path):
    raw = tmp_path / "raw"
    _write(raw, BASE)
    result = run_dbt(
        ["build", "--select", "+stg_shop__orders", "--indirect-selection", "cautious"],
        tmp_path,
        {"raw_data_path": str(raw), "as_of_date": AS_OF_DATE, "reporting_currency": "JPY"},
        check=False,
    )
    assert result.returncode != 0
    assert "var reporting_currency = JPY has no rates in seeds/fx_rates.csv" in result.output


def test_ids_differing_by_case_or_whitespace_are_one_customer(tmp_path_factory):
    result, _ = _case_build(tmp_path_factory, "ids_differing_by_case_or_whitespace")
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
    failed = run_dbt(["seed"], tmp_path / "utf8", vars_, check=False, raw_link=False)
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

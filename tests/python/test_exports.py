"""Activation exports on a copy of the demo build whose email guardrails are set by hand:
per-segment files with emailable members only (unless asked), Klaviyo's headers and the marts'
values, profile_properties.csv for every customer with an email, guardrail skips and --force,
the manifest, and the command line's printed counts."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from clv_segments.exports import export_activation

HEADERS = [
    "Email Address",
    "External ID",
    "Historic CLV",
    "Predicted CLV",
    "Total CLV",
    "Historic number of orders",
    "Predicted number of orders",
    "Average order value",
    "Average days between orders",
    "Churn probability",
    "Churn risk",
    "Expected date of next order",
]
BREACHED = "brand_fans"  # the only segment whose guardrails are breached in this copy
CLEAN = "biggest_fans"


@pytest.fixture(scope="module")
def warehouse(demo_build, tmp_path_factory) -> Path:
    """A copy of the demo warehouse where only brand_fans breaches its email guardrails."""
    copy = tmp_path_factory.mktemp("exports_warehouse") / "warehouse.duckdb"
    shutil.copyfile(demo_build.database, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute(
            "update marts.segment_email_health set "
            "is_breach = (segment_name = ?), "
            "breached_guardrails = case when segment_name = ? then 'open_rate' else '' end",
            [BREACHED, BREACHED],
        )
    return copy


def _query(database: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as handle:
        return next(csv.reader(handle))


def _members(database: Path, segment: str, emailable_only: bool) -> set[str]:
    """Members with an email (and emailable, when asked), straight from the marts."""
    condition = "and s.is_emailable" if emailable_only else ""
    rows = _query(
        database,
        "select s.customer_id from marts.customer_segments as s "
        "join staging.stg_shop__customers as c on c.customer_id = s.customer_id "
        f"where s.segment_name = ? and c.email is not null {condition}",
        [segment],
    )
    return {customer_id for (customer_id,) in rows}


@pytest.fixture(scope="module")
def default_export(warehouse, tmp_path_factory):
    out = tmp_path_factory.mktemp("exports")
    stale = out / f"{BREACHED}.csv"
    stale.write_text("Email Address\nold@example.com\n", encoding="utf-8")  # last week's file
    messages: list[str] = []
    result = export_activation(warehouse, out, progress=messages.append)
    return out, result, messages


def test_a_file_per_segment_except_the_breached_one(warehouse, default_export):
    out, result, _ = default_export
    segments = {
        name for (name,) in _query(warehouse, "select segment_name from marts.segment_summary")
    }
    written = {path.stem for path in out.glob("*.csv")} - {"profile_properties"}
    assert written == segments - {BREACHED}
    statuses = {s.segment_name: s.status for s in result.segments}
    assert statuses[BREACHED] == "skipped_guardrails"
    assert {status for name, status in statuses.items() if name != BREACHED} == {"written"}


def test_breached_segment_leaves_no_stale_file_and_says_why(default_export):
    out, result, messages = default_export
    assert not (out / f"{BREACHED}.csv").exists()
    skipped = next(s for s in result.segments if s.segment_name == BREACHED)
    assert skipped.removed_stale_file and skipped.breached_guardrails == "open_rate"
    assert any(BREACHED in m and "SKIPPED" in m and "open_rate" in m for m in messages)


def test_segment_file_holds_emailable_members_only(warehouse, default_export):
    out, result, _ = default_export
    rows = _read(out / f"{CLEAN}.csv")
    assert {row["External ID"] for row in rows} == _members(warehouse, CLEAN, emailable_only=True)
    export = next(s for s in result.segments if s.segment_name == CLEAN)
    assert export.rows_written == len(rows)
    (members,) = _query(
        warehouse, "select members from marts.segment_summary where segment_name = ?", [CLEAN]
    )[0]
    assert export.members == members
    assert export.left_out_not_emailable + export.left_out_without_email + len(rows) == members


def test_headers_are_klaviyos_property_names(default_export):
    out, _, _ = default_export
    assert _header(out / f"{CLEAN}.csv") == HEADERS
    assert _header(out / "profile_properties.csv") == HEADERS


def test_values_are_the_marts_values(warehouse, default_export):
    out, _, _ = default_export
    rows = {row["External ID"]: row for row in _read(out / f"{CLEAN}.csv")}
    customer_id = sorted(rows)[0]
    email, historic, predicted, total, orders, churn, risk, next_order = _query(
        warehouse,
        "select c.email, p.historic_clv, p.predicted_clv, p.total_clv, "
        "p.historic_number_of_orders, p.churn_probability, p.churn_risk, "
        "p.expected_date_of_next_order "
        "from marts.customer_predictions as p "
        "join staging.stg_shop__customers as c using (customer_id) where customer_id = ?",
        [customer_id],
    )[0]
    row = rows[customer_id]
    assert row["Email Address"] == email
    assert row["Historic CLV"] == f"{historic:.2f}"
    assert row["Predicted CLV"] == f"{predicted:.2f}"
    assert row["Total CLV"] == f"{total:.2f}"
    assert row["Historic number of orders"] == str(orders)
    assert float(row["Churn probability"]) == pytest.approx(churn, abs=5e-5)
    assert row["Churn risk"] == risk
    assert row["Expected date of next order"] == next_order.isoformat()[:10]


def test_profile_properties_cover_every_customer_with_an_email(warehouse, default_export):
    out, result, _ = default_export
    rows = _read(out / "profile_properties.csv")
    expected = {
        customer_id
        for (customer_id,) in _query(
            warehouse,
            "select p.customer_id from marts.customer_predictions as p "
            "join staging.stg_shop__customers as c using (customer_id) "
            "where c.email is not null",
        )
    }
    assert {row["External ID"] for row in rows} == expected
    (customers,) = _query(warehouse, "select count(*) from marts.customer_predictions")[0]
    assert result.profile_properties["left_out_without_email"] == customers - len(expected)
    # a customer without an order has no prediction: empty cells, not zeros
    no_order = next(row for row in rows if row["Historic number of orders"] == "0")
    assert no_order["Predicted CLV"] == "" and no_order["Churn risk"] == ""
    assert no_order["Historic CLV"] == "0.00"


def test_manifest_records_what_was_written(default_export):
    out, result, _ = default_export
    manifest = json.loads((out / "export_manifest.json").read_text())
    assert manifest["guardrails_checked"] is True
    assert manifest["include_non_emailable"] is False
    assert manifest["column_mapping"]["External ID"] == "customer_id"
    assert manifest["column_mapping"]["Predicted CLV"] == "predicted_clv"
    by_name = {s["segment_name"]: s for s in manifest["segments"]}
    assert by_name[BREACHED]["status"] == "skipped_guardrails"
    assert by_name[BREACHED]["path"] is None
    assert by_name[CLEAN]["rows_written"] == len(_read(out / f"{CLEAN}.csv"))
    assert manifest["profile_properties"]["rows_written"] == len(
        _read(out / "profile_properties.csv")
    )


def test_include_non_emailable_and_force_on_chosen_segments(warehouse, tmp_path):
    result = export_activation(
        warehouse, tmp_path, segments=[BREACHED], include_non_emailable=True, force=True
    )
    assert [s.segment_name for s in result.segments] == [BREACHED]
    assert result.segments[0].status == "forced"
    rows = _read(tmp_path / f"{BREACHED}.csv")
    every_member = _members(warehouse, BREACHED, emailable_only=False)
    assert {row["External ID"] for row in rows} == every_member
    assert every_member > _members(warehouse, BREACHED, emailable_only=True)
    assert sorted(p.name for p in tmp_path.glob("*.csv")) == [
        f"{BREACHED}.csv",
        "profile_properties.csv",
    ]


def test_unknown_segment_is_named(warehouse, tmp_path):
    with pytest.raises(ValueError, match="unknown segment.*no_such_segment"):
        export_activation(warehouse, tmp_path, segments=["no_such_segment"])


def test_command_line_prints_counts_and_paths(warehouse, tmp_path):
    command = [
        str(Path(sys.executable).with_name("clv-segments")),
        "export",
        "--database",
        str(warehouse),
        "--out",
        str(tmp_path),
        "--segment",
        CLEAN,
        "--segment",
        BREACHED,
    ]
    proc = subprocess.run(command, capture_output=True, text=True, check=True)
    rows = len(_read(tmp_path / f"{CLEAN}.csv"))
    assert f"{rows:,} rows" in next(line for line in proc.stdout.splitlines() if CLEAN in line)
    assert "skipped_guardrails" in next(
        line for line in proc.stdout.splitlines() if BREACHED in line
    )
    assert f"manifest           {tmp_path / 'export_manifest.json'}" in proc.stdout
    assert "[1/2]" in proc.stderr and "[2/2]" in proc.stderr

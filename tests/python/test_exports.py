"""Activation exports on a copy of the demo build whose email guardrails are set by hand:
per-segment files with emailable members only (unless asked), Klaviyo's headers and the marts'
values, profile_properties.csv for every customer with an email, guardrail skips and --force,
segments whose guardrails are not checked yet (no history), the manifest, owner-only files
replaced atomically, no email in any message, and the command line's printed counts."""

from __future__ import annotations

import csv
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from clv_segments.activation import exports
from clv_segments.activation.exports import export_activation

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
UNCHECKED = "potential_brand_lovers"  # the only one left as built: no history yet
CLEAN = "biggest_fans"


@pytest.fixture(scope="module")
def warehouse(demo_build, tmp_path_factory) -> Path:
    """A copy of the demo warehouse where brand_fans breaches its email guardrails,
    potential_brand_lovers keeps the status of the build (a first run: no history yet) and every
    other segment was checked and is ok."""
    copy = tmp_path_factory.mktemp("exports_warehouse") / "warehouse.duckdb"
    shutil.copyfile(demo_build.database, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute(
            "update marts.segment_email_health set "
            "guardrail_status = case when segment_name = ? then 'breach' else 'ok' end, "
            "is_breach = (segment_name = ?), "
            "breached_guardrails = case when segment_name = ? then 'open_rate' else '' end "
            "where segment_name <> ?",
            [BREACHED, BREACHED, BREACHED, UNCHECKED],
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


OLD_CONTENT = "Email Address\nold@example.com\n"


@pytest.fixture(scope="module")
def default_export(warehouse, tmp_path_factory):
    """Every segment into a folder holding last week's files (world-readable, as an older version
    wrote them), with a umask that would let anyone read what is created. The old file of
    biggest_fans keeps a second link outside the folder, to see whether it was rewritten."""
    base = tmp_path_factory.mktemp("exports")
    out = base / "out"
    out.mkdir()
    for name in (BREACHED, CLEAN):
        (out / f"{name}.csv").write_text(OLD_CONTENT, encoding="utf-8")
        (out / f"{name}.csv").chmod(0o644)
    os.link(out / f"{CLEAN}.csv", base / "old_clean_file.csv")
    messages: list[str] = []
    umask = os.umask(0)
    try:
        result = export_activation(warehouse, out, progress=messages.append)
    finally:
        os.umask(umask)
    return out, result, messages, base / "old_clean_file.csv"


def test_a_file_per_segment_except_the_breached_one(warehouse, default_export):
    out, result, *_ = default_export
    segments = {
        name for (name,) in _query(warehouse, "select segment_name from marts.segment_summary")
    }
    written = {path.stem for path in out.glob("*.csv")} - {"profile_properties"}
    assert written == segments - {BREACHED}
    statuses = {s.segment_name: s.status for s in result.segments}
    assert statuses[BREACHED] == "skipped_guardrails"
    assert statuses[UNCHECKED] == "written_unchecked"
    assert {status for name, status in statuses.items() if name not in (BREACHED, UNCHECKED)} == {
        "written"
    }


def test_breached_segment_leaves_no_stale_file_and_says_why(default_export):
    out, result, messages, *_ = default_export
    assert not (out / f"{BREACHED}.csv").exists()
    skipped = next(s for s in result.segments if s.segment_name == BREACHED)
    assert skipped.removed_stale_file and skipped.breached_guardrails == "open_rate"
    assert any(BREACHED in m and "SKIPPED" in m and "open_rate" in m for m in messages)


def test_segment_file_holds_emailable_members_only(warehouse, default_export):
    out, result, *_ = default_export
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
    out, *_ = default_export
    assert _header(out / f"{CLEAN}.csv") == HEADERS
    assert _header(out / "profile_properties.csv") == HEADERS


def test_values_are_the_marts_values(warehouse, default_export):
    out, *_ = default_export
    rows = {row["External ID"]: row for row in _read(out / f"{CLEAN}.csv")}
    customer_id = sorted(rows)[0]
    email, historic, predicted, total, orders, churn, risk, next_order = _query(
        warehouse,
        "select c.email, p.historic_clv, p.predicted_clv, p.total_clv, "
        "p.historic_number_of_orders, p.churn_probability, p.churn_risk, "
        "p.next_order_date "
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
    assert row["Expected date of next order"] == (next_order.isoformat()[:10] if next_order else "")


def test_profile_properties_cover_every_customer_with_an_email(warehouse, default_export):
    out, result, *_ = default_export
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
    out, result, *_ = default_export
    manifest = json.loads((out / "export_manifest.json").read_text())
    assert manifest["guardrails_checked"] is False  # one segment could not be checked
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
    assert result.guardrails_checked  # checked (and breached): forced, not unchecked
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


# --- guardrails not checked yet ----------------------------------------------------------------


def test_segment_without_history_is_written_and_marked_unchecked(warehouse, default_export):
    out, result, messages, *_ = default_export
    starts_on, window_days, window_starts_on = _query(
        warehouse,
        "select history_starts_on, health_window_days, window_starts_on "
        "from marts.segment_email_health where segment_name = ?",
        [UNCHECKED],
    )[0]
    assert starts_on is not None and starts_on > window_starts_on  # as built: a first run
    reason = (
        f"email guardrails not checked: membership history starts on {starts_on:%Y-%m-%d}, "
        f"the {window_days}-day window needs it from {window_starts_on:%Y-%m-%d}; "
        "run `clv-segments backfill`"
    )
    rows = _read(out / f"{UNCHECKED}.csv")
    assert rows
    assert {row["External ID"] for row in rows} == _members(warehouse, UNCHECKED, True)
    by_name = {
        s["segment_name"]: s
        for s in json.loads((out / "export_manifest.json").read_text())["segments"]
    }
    assert by_name[UNCHECKED]["status"] == "written_unchecked"
    assert by_name[UNCHECKED]["guardrail_status"] == "no_history_yet"
    assert by_name[UNCHECKED]["guardrails_unchecked_reason"] == reason
    assert by_name[UNCHECKED]["rows_written"] == len(rows)
    assert by_name[CLEAN]["guardrail_status"] == "ok"
    assert by_name[CLEAN]["guardrails_unchecked_reason"] is None
    assert [s.segment_name for s in result.unchecked] == [UNCHECKED]
    line = next(m for m in messages if f"] {UNCHECKED}: " in m)
    assert "NOT CHECKED" in line
    assert "NOT CHECKED" not in next(m for m in messages if f"] {CLEAN}: " in m)
    assert reason in messages


# --- personal data: owner-only files, replaced whole, no email in any message ------------------


def test_every_file_is_owner_only_and_no_temporary_file_is_left(default_export):
    out, *_ = default_export
    modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in out.iterdir()}
    assert "export_manifest.json" in modes and "profile_properties.csv" in modes
    assert modes == dict.fromkeys(modes, 0o600)
    assert {Path(name).suffix for name in modes} == {".csv", ".json"}  # no temp file or folder


def test_earlier_file_is_replaced_whole_not_rewritten(default_export):
    out, _, _, old_file = default_export
    path = out / f"{CLEAN}.csv"
    assert path.stat().st_ino != old_file.stat().st_ino
    # the old file was never opened for writing: a reader holding it reads the old export whole
    assert old_file.read_text(encoding="utf-8") == OLD_CONTENT
    assert _header(path) == HEADERS and "old@example.com" not in path.read_text(encoding="utf-8")


def test_a_new_export_folder_is_owner_only(warehouse, tmp_path):
    out = tmp_path / "new" / "exports"
    umask = os.umask(0)
    try:
        export_activation(warehouse, out, segments=[CLEAN])
    finally:
        os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert {path.name: stat.S_IMODE(path.stat().st_mode) for path in out.iterdir()} == {
        f"{CLEAN}.csv": 0o600,
        "profile_properties.csv": 0o600,
        "export_manifest.json": 0o600,
    }


def test_files_are_private_before_they_are_renamed_into_place(warehouse, tmp_path, monkeypatch):
    """Each file is 0600, in a temporary folder only the owner can enter, inside the export
    folder (one file system: the rename is atomic) when it is renamed into place."""
    renamed: list[tuple[str, int, int, bool]] = []
    replace = os.replace

    def spy(source, target):
        source = Path(source)
        renamed.append(
            (
                Path(target).name,
                stat.S_IMODE(source.stat().st_mode),
                stat.S_IMODE(source.parent.stat().st_mode),
                source.parent.parent == tmp_path and Path(target).parent == tmp_path,
            )
        )
        replace(source, target)

    monkeypatch.setattr(exports.os, "replace", spy)
    umask = os.umask(0)
    try:
        export_activation(warehouse, tmp_path, segments=[CLEAN])
    finally:
        os.umask(umask)
    assert sorted(name for name, *_ in renamed) == [
        f"{CLEAN}.csv",
        "export_manifest.json",
        "profile_properties.csv",
    ]
    assert {(mode, folder, inside) for _, mode, folder, inside in renamed} == {(0o600, 0o700, True)}


def _export_command(database: Path, out: Path, *extra: str) -> list[str]:
    return [
        str(Path(sys.executable).with_name("clv-segments")),
        "export",
        "--database",
        str(database),
        "--out",
        str(out),
        *extra,
    ]


def test_no_email_in_the_command_line_output_or_the_manifest(demo_build, tmp_path):
    """On the warehouse as built (a first run: no guardrail can be checked yet)."""
    out = tmp_path / "exports"
    proc = subprocess.run(
        _export_command(demo_build.database, out), capture_output=True, text=True, check=True
    )
    assert "@" in (out / "profile_properties.csv").read_text(encoding="utf-8")  # emails exist
    assert "@" not in proc.stdout + proc.stderr
    manifest_text = (out / "export_manifest.json").read_text(encoding="utf-8")
    assert "@" not in manifest_text
    manifest = json.loads(manifest_text)
    assert {s["status"] for s in manifest["segments"]} == {"written_unchecked"}
    assert manifest["guardrails_checked"] is False
    assert "run `clv-segments backfill`" in proc.stdout
    assert " ok" not in proc.stdout and "  written\n" not in proc.stdout

    failed = subprocess.run(
        _export_command(demo_build.database, out, "--segment", "someone@example.com"),
        capture_output=True,
        text=True,
    )
    assert failed.returncode == 2
    assert "unknown segment" in failed.stderr
    assert "@" not in failed.stdout + failed.stderr


def test_exports_read_the_marts_only(warehouse, default_export, tmp_path):
    """The exports need nothing but the public marts: without the staging and intermediate
    schemas they write the same files."""
    marts_only = tmp_path / "warehouse.duckdb"
    shutil.copyfile(warehouse, marts_only)
    with duckdb.connect(str(marts_only)) as con:
        for schema in ("staging", "intermediate"):
            con.execute(f"drop schema {schema} cascade")
    out = tmp_path / "out"
    export_activation(marts_only, out, progress=lambda _: None)
    before, _, _, _ = default_export
    written = sorted(path.name for path in out.glob("*.csv"))
    assert written == sorted(path.name for path in before.glob("*.csv"))
    for name in written:
        assert (out / name).read_bytes() == (before / name).read_bytes(), name

"""Fault injection: nothing bad is ever published.

One small shop (raw CSV files) is published once by `clv-segments run`. Every case then injects
one fault (damaged input, a broken configuration, a failing dbt test or expectation, an exception
in a Python model, a killed build, a backdated or concurrent run) into a run against a copy of
that published warehouse, and asserts: a non-zero exit, a message naming the check at fault, and
a published warehouse that is byte-identical, every mart and history table with the same
checksum, and the last exports untouched. The next good run is green.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from clv_segments.demo.generator import generate
from clv_segments.runs import candidate_path
from clv_segments.warehouse import relation_exists

from dbt_harness import CLV_SEGMENTS, PROJECT_DIR, built_once, project_copy, run_main_job

PREVIOUS_AS_OF_DATE, AS_OF_DATE = "2026-11-13", "2026-11-20"
CUSTOMERS = 1_200


@pytest.fixture(scope="session")
def good_raw(tmp_path_factory) -> Path:
    def write(folder: Path) -> dict:
        generate(CUSTOMERS, AS_OF_DATE, seed=7, out_dir=folder / "raw", fmt="csv")
        return {"raw": str(folder / "raw")}

    return Path(built_once(tmp_path_factory, "faults_raw", write)["raw"])


@pytest.fixture(scope="session")
def published(good_raw, tmp_path_factory) -> Path:
    """A warehouse published by good runs as of PREVIOUS_AS_OF_DATE then AS_OF_DATE (so the
    history has a previous date to compare with), with its exports; built once for every
    worker, read-only (each case works on a copy)."""

    def publish(folder: Path) -> dict:
        database = folder / "warehouse.duckdb"
        for as_of in (PREVIOUS_AS_OF_DATE, AS_OF_DATE):
            result = run_main_job(
                "run", database, {"raw_data_path": str(good_raw), "as_of_date": as_of}
            )
            assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
            assert "PUBLISHED" in result.stdout
        return {"database": str(database)}

    return Path(built_once(tmp_path_factory, "faults_published", publish)["database"])


@pytest.fixture
def warehouse(published, tmp_path_factory) -> Path:
    """A copy of the published warehouse and its artifacts for one case. It is made in the same
    folder for every case of a worker (the last case's copy is removed first): dbt keys its saved
    parse on the warehouse path too, so the cases' runs skip the parse (dbt_harness.ParseReuse)."""
    case = tmp_path_factory.getbasetemp() / "fault_case"
    shutil.rmtree(case, ignore_errors=True)
    shutil.copytree(
        published.parent, case / "published", ignore=shutil.ignore_patterns("runs", "target")
    )
    return case / "published" / published.name


# columns that differ between two runs on the same data by design: wall-clock measurements and
# the run's identity
RUN_VOLATILE_COLUMNS = {
    "marts.clv_model_diagnostics": ("fit_seconds", "status_detail"),
    "history.run_log": ("run_id", "run_started_at"),
}


def published_state(database: Path, exclude: dict[str, tuple[str, ...]] | None = None) -> dict:
    """Checksums of the warehouse file, of every table of its marts and history schemas (less
    the ``exclude`` columns), and of every exported file."""
    exclude = exclude or {}
    state = {"file": hashlib.sha256(database.read_bytes()).hexdigest()}
    with duckdb.connect(str(database), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('marts', 'history') order by 1, 2"
        ).fetchall()
        for schema, name in tables:
            dropped = exclude.get(f"{schema}.{name}")
            columns = f"* exclude ({', '.join(dropped)})" if dropped else "*"
            (digest,) = con.execute(
                f"select md5(coalesce(string_agg(md5(cast(t as varchar)), '' order by "
                f"md5(cast(t as varchar))), '')) "
                f'from (select {columns} from "{schema}"."{name}") as t'
            ).fetchone()
            state[f"{schema}.{name}"] = digest
    exports = database.parent / "artifacts" / "exports"
    for path in sorted(exports.iterdir()):
        state[f"exports/{path.name}"] = hashlib.sha256(path.read_bytes()).hexdigest()
    return state


def damaged_raw(good_raw: Path, tmp_path: Path, damage: Callable[[Path], None]) -> Path:
    raw = tmp_path / "raw"
    shutil.copytree(good_raw, raw)
    damage(raw)
    return raw


def _rewrite(raw: Path, table: str, change: Callable[[list[dict]], list[dict]]) -> None:
    path = raw / f"{table}.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields, rows = reader.fieldnames, list(reader)
    rows = change(rows)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def _set(table: str, column: str, value: Callable[[dict], str], share: float = 1.0):
    def damage(raw: Path) -> None:
        def change(rows: list[dict]) -> list[dict]:
            every = max(1, round(1 / share))
            for index, row in enumerate(rows):
                if index % every == 0:
                    row[column] = value(row)
            return rows

        _rewrite(raw, table, change)

    return damage


def _header_only(table: str):
    return lambda raw: _rewrite(raw, table, lambda rows: [])


def _keep_share(table: str, share: float):
    return lambda raw: _rewrite(raw, table, lambda rows: rows[: int(len(rows) * share)])


def _duplicate_with_other_amounts(raw: Path) -> None:
    def change(rows: list[dict]) -> list[dict]:
        twins = [{**row, "amount": f"{float(row['amount'] or 0) + 1:.2f}"} for row in rows[::5]]
        return rows + twins

    _rewrite(raw, "orders", change)


def _drop_column(table: str, column: str):
    def damage(raw: Path) -> None:
        path = raw / f"{table}.csv"
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        fields = [name for name in rows[0] if name != column]
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)

    return damage


def _shift_years(value: str, years: int) -> str:
    return str(int(value[:4]) + years) + value[4:] if value else value


def _shift_days(value: str, days: int, until: str) -> str:
    """A raw timestamp dated ``until`` or before, ``days`` later (earlier when negative), written
    as the generator writes it; a later one (rejected as after_as_of_date) is left as it is."""
    if not value or value[:10] > until:
        return value
    return (date.fromisoformat(value[:10]) + timedelta(days=days)).isoformat() + value[10:]


# where the run stopped: the input's circuit breakers, audited right after staging (nothing
# past staging is built), or the audit of the whole build
INPUT_AUDIT, AUDIT = "NOT PUBLISHED: the input audit failed", "NOT PUBLISHED: the audit failed"

# damaged input -> what the report must name (where the run stopped, the check and its subject,
# or the file)
INPUT_FAULTS = {
    "all_orders_in_an_unknown_currency": (
        _set("orders", "currency", lambda row: "XYZ"),
        [INPUT_AUDIT, "rejected_share [orders]", "unknown_currency", "breaker_max_rejected_share"],
    ),
    "order_timestamps_unparseable": (
        _set("orders", "ordered_at", lambda row: "13/45/2026 25:61", share=0.5),
        [INPUT_AUDIT, "rejected_share [orders]", "unparseable_timestamp"],
    ),
    "order_amounts_unparseable": (
        _set("orders", "amount", lambda row: "12 euros", share=0.25),
        [INPUT_AUDIT, "rejected_share [orders]", "unparseable_amount"],
    ),
    "order_keys_claimed_twice": (
        _duplicate_with_other_amounts,
        [INPUT_AUDIT, "rejected_share [orders]", "duplicate_key_conflict"],
    ),
    "orders_of_unknown_customers": (
        _set("orders", "customer_id", lambda row: "X" + row["customer_id"], share=0.25),
        [INPUT_AUDIT, "rejected_share [orders]", "unknown_customer"],
    ),
    "orders_dated_after_the_as_of_date": (
        _set("orders", "ordered_at", lambda row: _shift_years(row["ordered_at"], 5), share=0.2),
        # rows after the as-of date are not damage (breaker_rejected_share_ignores): the
        # orders that vanish from the clean set trip the drop breaker instead
        [INPUT_AUDIT, "drop [clean_rows:orders]", "after_as_of_date"],
    ),
    "unknown_event_types": (
        _set("events", "event_type", lambda row: "page_view", share=0.5),
        [INPUT_AUDIT, "rejected_share [events]", "unknown_event_type"],
    ),
    "refunds_above_their_order": (
        _set("refunds", "amount", lambda row: "999999.00"),
        [INPUT_AUDIT, "rejected_share [refunds]", "refund_exceeds_order"],
    ),
    "half_the_customers_missing": (
        _keep_share("customers", 0.5),
        [INPUT_AUDIT, "drop [clean_rows:customers]", "breaker_max_drop_share"],
    ),
    "amounts_in_cents": (
        _set("orders", "amount", lambda row: f"{float(row['amount'] or 0) * 100:.2f}"),
        [AUDIT, "segment_churn", "breaker_max_segment_churn"],
    ),
    "orders_header_only": (
        _header_only("orders"),
        [INPUT_AUDIT, "min_valid_orders", "drop [clean_rows:orders]"],
    ),
    # input that passes its breakers (no row rejected or lost) but leaves no order in the last
    # clv_max_days_since_last_order days: the CLV model, ready at the last run, is not now
    "order_dates_forty_days_early": (
        _set("orders", "ordered_at", lambda row: _shift_days(row["ordered_at"], -40, AS_OF_DATE)),
        [AUDIT, "readiness_lost", "breaker_readiness_lost"],
    ),
    "customers_header_only": (
        _header_only("customers"),
        [INPUT_AUDIT, "drop [clean_rows:customers]"],
    ),
    "events_header_only": (_header_only("events"), [INPUT_AUDIT, "drop [clean_rows:events]"]),
    "refunds_header_only": (_header_only("refunds"), [INPUT_AUDIT, "drop [clean_rows:refunds]"]),
    "list_memberships_header_only": (
        _header_only("list_memberships"),
        [INPUT_AUDIT, "drop [clean_rows:list_memberships]"],
    ),
    "suppressions_header_only": (
        _header_only("suppressions"),
        [INPUT_AUDIT, "drop [clean_rows:suppressions]"],
    ),
    "orders_file_missing": (
        lambda raw: (raw / "orders.csv").unlink(),
        ["Required raw table 'orders' not found"],
    ),
    "orders_file_empty": (
        lambda raw: (raw / "orders.csv").write_bytes(b""),
        ["orders.csv"],
    ),
    "amount_column_missing": (
        _drop_column("orders", "amount"),
        ["missing column(s) amount"],
    ),
    "orders_not_utf8": (
        lambda raw: (raw / "orders.csv").open("ab").write(b'"O9","C00000001",,caf\xe9,EUR,,,\n'),
        ["is not valid UTF-8 text", "raw_csv_encoding"],
    ),
}


@pytest.mark.parametrize("fault", sorted(INPUT_FAULTS))
def test_damaged_input_is_not_published(fault, good_raw, warehouse, tmp_path):
    damage, expected = INPUT_FAULTS[fault]
    raw = damaged_raw(good_raw, tmp_path, damage)
    before = published_state(warehouse)
    result = run_main_job("run", warehouse, {"raw_data_path": str(raw), "as_of_date": AS_OF_DATE})
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-4000:]
    assert "NOT PUBLISHED" in result.stdout
    for text in expected:
        assert text in output, f"{text!r} not in the report:\n{result.stdout[-4000:]}"
    assert published_state(warehouse) == before
    assert "@" not in result.stdout  # the report never shows an email
    if INPUT_AUDIT in expected:  # nothing past staging was built from that input
        with duckdb.connect(str(candidate_path(warehouse)), read_only=True) as con:
            assert relation_exists(con, "marts", "input_circuit_breakers")
            assert not relation_exists(con, "marts", "customer_segments")
            assert not relation_exists(con, "intermediate", "int_orders_aggregated_to_customers")


def test_an_accepted_breach_is_published_and_recorded(good_raw, warehouse, tmp_path):
    raw = damaged_raw(good_raw, tmp_path, _keep_share("suppressions", 0.5))
    vars_ = {"raw_data_path": str(raw), "as_of_date": AS_OF_DATE}
    refused = run_main_job("run", warehouse, vars_)
    assert refused.returncode == 1 and "drop [clean_rows:suppressions]" in refused.stdout
    accepted = run_main_job("run", warehouse, vars_, "--accept", "drop:clean_rows:suppressions")
    assert accepted.returncode == 0, accepted.stdout[-3000:]
    assert "accepted breach (recorded in history.run_log): drop clean_rows:suppressions" in (
        accepted.stdout
    )
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (recorded,) = con.execute(
            "select accepted_breakers from history.run_log where as_of_date = ?", [AS_OF_DATE]
        ).fetchone()
    assert recorded.startswith("drop:clean_rows:suppressions=0.5")


@pytest.mark.parametrize(
    ("dbt_vars", "expected"),
    [
        ({"reporting_currency": "JPY"}, "var reporting_currency = JPY has no fx rates"),
        ({"as_of_date": "2025-13-45"}, "var as_of_date = '2025-13-45' is not a date"),
        ({"as_of_date": "2026-11-01"}, "before the last published as-of date 2026-11-20"),
    ],
    ids=["unknown_reporting_currency", "invalid_as_of_date", "backdated_as_of_date"],
)
def test_configuration_faults_stop_before_anything_is_built(
    dbt_vars, expected, good_raw, warehouse
):
    before = published_state(warehouse)
    started = time.perf_counter()
    result = run_main_job(
        "run", warehouse, {"raw_data_path": str(good_raw), "as_of_date": AS_OF_DATE, **dbt_vars}
    )
    assert result.returncode == 2, result.stderr[-3000:]
    assert expected in result.stderr
    assert "nothing was built" in result.stderr.lower()
    assert not (warehouse.parent / "target" / "run_results.json").exists()
    assert time.perf_counter() - started < 60
    assert published_state(warehouse) == before


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _fail_a_singular_test_and_a_column_rule(project: Path) -> None:
    (project / "tests" / "dbt" / "assert_injected_fault.sql").write_text(
        "select 1 as injected_fault\n"
    )
    _edit(
        project / "models" / "marts" / "clv" / "_clv__models.yml",
        "churn_probability: {min_value: 0, max_value: 1}",
        "churn_probability: {min_value: 0, max_value: 0}",
    )


CODE_FAULTS = {
    "overlapping_tier_seed": (
        lambda project: _edit(project / "seeds" / "clv_tiers.csv", "500", "400"),
        2,
        ["clv_tiers.csv", "overlap"],
    ),
    "failing_dbt_tests": (
        _fail_a_singular_test_and_a_column_rule,
        1,
        [
            "dbt_test [assert_injected_fault]",
            # a model's column rules are one test; the report names the rule that broke
            "dbt_test [expect_column_rules_customer_predictions]: churn_probability between "
            "(>= 0 and <= 0): ",
        ],
    ),
    "failing_expectation": (
        lambda project: _edit(
            project / "models" / "marts" / "segments" / "customer_tiers.sql",
            "{{ as_of_date() }} as as_of_date",
            "cast({{ dbt.dateadd('day', -1, as_of_date()) }} as date) as as_of_date",
        ),
        1,
        ["expectation [customer_tiers"],
    ),
    "exception_in_a_python_model": (
        lambda project: _edit(
            project / "python_models" / "clv_model_fit.py",
            "    settings = ClvSettings.from_config(config.get)\n",
            "    settings = ClvSettings.from_config(config.get)\n"
            "    raise RuntimeError('injected fault')\n",
        ),
        1,
        ["dbt_model [clv_model_fit]", "injected fault"],
    ),
}


@pytest.mark.parametrize("fault", sorted(CODE_FAULTS))
def test_code_faults_are_not_published(fault, good_raw, warehouse, tmp_path):
    inject, exit_code, expected = CODE_FAULTS[fault]
    project = project_copy(tmp_path)
    inject(project)
    before = published_state(warehouse)
    result = run_main_job(
        "run",
        warehouse,
        {"raw_data_path": str(good_raw), "as_of_date": AS_OF_DATE},
        project_dir=project,
    )
    output = result.stdout + result.stderr
    assert result.returncode == exit_code, output[-4000:]
    for text in expected:
        assert text in output, f"{text!r} not in:\n{output[-4000:]}"
    assert published_state(warehouse) == before


def _start_run(warehouse: Path, raw: Path, project: Path = PROJECT_DIR) -> subprocess.Popen:
    import json

    return subprocess.Popen(
        [
            str(CLV_SEGMENTS), "run", "--database", str(warehouse), "--no-activation",
            "--vars", json.dumps({"raw_data_path": str(raw), "as_of_date": AS_OF_DATE}),
            "--project-dir", str(project), "--target-path", str(warehouse.parent / "target"),
            "--artifacts", str(warehouse.parent / "artifacts"),
        ],
        cwd=project,
        env={**os.environ, "DBT_PROFILES_DIR": str(project)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )  # fmt: skip


def _wait_for_line(process: subprocess.Popen, pattern: str, timeout: float = 600) -> list[str]:
    seen, deadline = [], time.monotonic() + timeout
    assert process.stdout is not None
    for line in process.stdout:
        seen.append(line)
        if pattern in line:
            return seen
        assert time.monotonic() < deadline, f"{pattern!r} not seen in {timeout} s"
    raise AssertionError(f"the run ended before {pattern!r}:\n{''.join(seen[-40:])}")


def test_a_build_killed_mid_model_changes_nothing_and_the_next_run_publishes(good_raw, warehouse):
    before = published_state(warehouse)
    process = _start_run(warehouse, good_raw)
    started = "START python table model intermediate.clv_model_fit"
    _wait_for_line(process, started)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    assert published_state(warehouse) == before
    # the killed run's log says where it was: written line by line, nothing left in a buffer
    (log,) = (warehouse.parent / "runs").glob("*/output.log")
    assert started in log.read_text(encoding="utf-8")
    candidate = warehouse.with_name(f"{warehouse.stem}.candidate{warehouse.suffix}")
    assert candidate.exists()  # half-built, never seen by readers
    good = run_main_job(
        "run", warehouse, {"raw_data_path": str(good_raw), "as_of_date": AS_OF_DATE}
    )
    assert good.returncode == 0, good.stdout[-3000:]
    assert not candidate.exists()


def test_damaged_input_stops_the_run_process_after_staging(good_raw, warehouse, tmp_path):
    """As the cases above (which run the command in this process), through the `clv-segments
    run` process and its build process, `python -m clv_segments.build_steps`: the first step's
    breach ends the build with its own exit code, which the run reports as the input audit."""
    raw = damaged_raw(good_raw, tmp_path, _header_only("orders"))
    before = published_state(warehouse)
    process = _start_run(warehouse, raw)
    output, _ = process.communicate(timeout=600)
    assert process.returncode == 1, output[-3000:]
    assert INPUT_AUDIT in output and "min_valid_orders" in output, output[-3000:]
    assert published_state(warehouse) == before
    (run_dir,) = (warehouse.parent / "runs").iterdir()
    assert (run_dir / "run_results_input.json").is_file()
    assert not (run_dir / "run_results_rest.json").exists()  # the rest was never built


def test_a_project_that_does_not_parse_stops_the_run_process(good_raw, warehouse, tmp_path):
    """The build process (`python -m clv_segments.build_steps`) parses before either step: a
    model that refers to no model stops it there, and the run says so, naming the model."""
    project = project_copy(tmp_path)
    _edit(
        project / "models" / "marts" / "segments" / "customer_tiers.sql",
        "{{ as_of_date() }} as as_of_date",
        "{{ as_of_date() }} as as_of_date -- {{ ref('no_such_model') }}",
    )
    before = published_state(warehouse)
    process = _start_run(warehouse, good_raw, project)
    output, _ = process.communicate(timeout=600)
    assert process.returncode == 1, output[-3000:]
    assert "NOT PUBLISHED: the build failed" in output, output[-3000:]
    assert "customer_tiers" in output and "no_such_model" in output, output[-3000:]
    assert published_state(warehouse) == before
    (run_dir,) = (warehouse.parent / "runs").iterdir()
    assert not list(run_dir.glob("run_results_*.json"))  # neither step started


def test_a_second_concurrent_run_is_refused_and_a_reader_sees_one_version(good_raw, warehouse):
    """While a run builds and publishes, a second run is refused, and a reader that opened the
    published file before keeps reading the old version, whole: publishing is one rename. One
    that opens it after reads the new one."""
    with duckdb.connect(str(warehouse), read_only=True) as reader:
        old = reader.execute("select run_id from history.run_log").fetchall()
        first = _start_run(warehouse, good_raw)
        try:
            seen = _wait_for_line(first, "Running with dbt")
            second = run_main_job(
                "run", warehouse, {"raw_data_path": str(good_raw), "as_of_date": AS_OF_DATE}
            )
            assert second.returncode == 3
            assert "another clv-segments run holds" in second.stderr
            assert "one run at a time" in second.stderr
        finally:
            remaining, _ = first.communicate(timeout=900)
        assert first.returncode == 0, remaining[-3000:]
        assert reader.execute("select run_id from history.run_log").fetchall() == old
        assert reader.execute("select count(*) from marts.customer_segments").fetchone()[0] > 0
    # the new version is the first run's: history.run_log records the id the run printed
    (run_id,) = re.findall(r"^run (\S+), as of ", "".join(seen) + remaining, flags=re.MULTILINE)
    with duckdb.connect(str(warehouse), read_only=True) as fresh:
        assert fresh.execute("select run_id from history.run_log").fetchall() != old
        assert fresh.execute(
            "select run_id from history.run_log where as_of_date = ?", [AS_OF_DATE]
        ).fetchone() == (run_id,)


def test_a_same_day_rerun_after_a_bad_run_keeps_history_intact(
    published, good_raw, warehouse, tmp_path
):
    """The bad run is refused; the good rerun of the same as-of date replaces that date's
    history: no duplicate entries, no false exits, and the same marts as the first publish."""
    before = published_state(warehouse)
    raw = damaged_raw(good_raw, tmp_path, _header_only("orders"))
    bad = run_main_job("run", warehouse, {"raw_data_path": str(raw), "as_of_date": AS_OF_DATE})
    assert bad.returncode == 1
    assert published_state(warehouse) == before
    rerun = run_main_job(
        "run", warehouse, {"raw_data_path": str(good_raw), "as_of_date": AS_OF_DATE}
    )
    assert rerun.returncode == 0, rerun.stdout[-3000:]
    after = published_state(warehouse, exclude=RUN_VOLATILE_COLUMNS)
    first = published_state(published, exclude=RUN_VOLATILE_COLUMNS)
    # the circuit breakers compare with the last published run, which for the rerun is the first
    # publish itself: their previous values differ by design; every other table is identical
    tables = {key for key in first if key.startswith(("marts.", "history."))}
    tables -= {"marts.circuit_breakers", "marts.input_circuit_breakers"}
    assert len(tables) > 15
    assert {key: after[key] for key in tables} == {key: first[key] for key in tables}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from history.run_log").fetchone() == (2,)

"""The main job's history: a backfill writes the segment and RFM history of past as-of dates
from the raw data, so the email guardrails and "membership last changed" work from the first
published run, and the past memberships equal what a run as of that date computes."""

from __future__ import annotations

import json
from datetime import date, timedelta

import duckdb
import pytest

from clv_segments.build_steps import BUILD_ARGS, INPUT_BUILD_ARGS, REST_BUILD_ARGS
from clv_segments.demo.generator import generate
from clv_segments.runs import backfill_dates

from dbt_harness import run_dbt, run_main_job

AS_OF_DATE = date(2026, 11, 20)


def test_backfill_dates_reach_the_window_oldest_first():
    assert backfill_dates(AS_OF_DATE, 90, 7) == [
        AS_OF_DATE - timedelta(days=7 * k) for k in range(13, 0, -1)
    ]
    assert backfill_dates(AS_OF_DATE, 14, 7) == [date(2026, 11, 6), date(2026, 11, 13)]
    assert backfill_dates(AS_OF_DATE, 15, 7)[0] == date(2026, 10, 30)


def _selected(build_args: tuple[str, ...], workdir) -> list[str]:
    """The unique_id of every node a `dbt build` with these arguments runs (`dbt ls`)."""
    listed = run_dbt(
        ["ls", *build_args[1:], "--output", "json", "--output-keys", "unique_id"], workdir
    )
    return [
        json.loads(line)["unique_id"] for line in listed.output.splitlines() if line.startswith("{")
    ]


def test_the_two_build_steps_run_every_node_of_the_build_once(tmp_path):
    """The input step (staging and marts.input_circuit_breakers, with the tests of those nodes
    only) and the rest select together exactly what one `dbt build` of the run selects."""
    everything = _selected(BUILD_ARGS, tmp_path)
    first, rest = _selected(INPUT_BUILD_ARGS, tmp_path), _selected(REST_BUILD_ARGS, tmp_path)
    assert len(everything) > 200 and len(everything) == len(set(everything))
    assert not set(first) & set(rest)
    assert sorted(first + rest) == sorted(everything)
    assert "model.clv_segments.input_circuit_breakers" in first
    assert "model.clv_segments.stg_shop__orders" in first
    # what the input step leaves to the rest: every CLV fit, segment and the full breakers
    assert {
        "model.clv_segments.clv_model_fit",
        "model.clv_segments.customer_segments",
        "model.clv_segments.circuit_breakers",
    } <= set(rest)
    # a test reading a node of each step (a reference to staging from a mart) runs with the rest
    assert any(
        uid.startswith("test.clv_segments.expect_column_rules_customer_personas.") for uid in rest
    )


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    folder = tmp_path_factory.mktemp("backfill_raw")
    generate(1_200, AS_OF_DATE, seed=11, out_dir=folder)
    return folder


def _segments(database, sql: str, *params) -> set[tuple]:
    with duckdb.connect(str(database), read_only=True) as con:
        return set(con.execute(sql, list(params)).fetchall())


def test_backfill_writes_past_history_that_equals_runs_as_of_those_dates(raw, tmp_path):
    dbt_vars = {"raw_data_path": str(raw), "health_window_days": 14}
    database = tmp_path / "backfilled" / "warehouse.duckdb"
    result = run_main_job(
        "backfill", database, {**dbt_vars, "as_of_date": str(AS_OF_DATE)}, "--no-activation"
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "backfill 2/2: history as of 2026-11-13" in result.stderr

    dates = _segments(
        database, "select distinct as_of_date from history.segment_membership_history"
    )
    assert dates == {(date(2026, 11, 6),), (date(2026, 11, 13),), (AS_OF_DATE,)}
    assert _segments(database, "select as_of_date, run_kind from history.run_log") == {
        (AS_OF_DATE, "backfill")
    }
    statuses = _segments(database, "select guardrail_status from marts.segment_email_health")
    assert statuses and ("no_history_yet",) not in statuses
    (counted,) = _segments(database, "select sum(deliveries) from marts.segment_email_health")
    assert counted[0] > 0

    # the members entered on the first backfilled date are those of a run as of that date
    first = tmp_path / "first" / "warehouse.duckdb"
    plain = run_main_job("run", first, {**dbt_vars, "as_of_date": "2026-11-06"}, "--no-activation")
    assert plain.returncode == 0, plain.stdout[-3000:]
    entered = _segments(
        database,
        "select segment_name, customer_id from history.segment_membership_history "
        "where as_of_date = ?",
        date(2026, 11, 6),
    )
    assert entered == _segments(
        first, "select segment_name, customer_id from marts.customer_segments"
    )
    assert len(entered) > 1_000

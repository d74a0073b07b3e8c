"""What `clv-segments run` makes of dbt's artifacts: the run's report names each failed node, and
a dbt invocation never reads the results of the one before it. No dbt here: the artifacts are
written as dbt writes them (run_results.json, schema v6)."""

from __future__ import annotations

import json
from pathlib import Path

from clv_segments.runs import RunOptions, dbt_failures, dbt_invocation


def _run_results(target: Path, results: list[dict]) -> None:
    target.mkdir(parents=True, exist_ok=True)
    (target / "run_results.json").write_text(json.dumps({"results": results}), encoding="utf-8")


def _result(unique_id: str, status: str, message: str | None = None) -> dict:
    return {"unique_id": unique_id, "status": status, "message": message, "compiled_code": None}


def test_each_failed_node_is_named_by_the_test_or_the_model(tmp_path):
    # dbt names a generic test whose name would be too long with a hash at the end of its
    # unique_id: the report must name the test, never the hash
    hashed = (
        "test.clv_segments.source_accepted_values_shop_events_event_type__email_delivered__"
        "email_opened.c57cb7f553"
    )
    _run_results(
        tmp_path / "target",
        [
            _result(hashed, "warn", "Got 3 results, configured to warn if != 0"),
            _result(hashed.replace("events", "orders"), "fail", "Got 2 results"),
            _result("test.clv_segments.assert_raw_rows_reconcile", "fail", "Got 1 result"),
            _result("model.clv_segments.clv_model_fit", "error", "RuntimeError: injected"),
            _result("model.clv_segments.customer_tiers", "success"),
            _result(
                "unit_test.clv_segments.customer_tiers.test_boundaries", "fail", "actual differs"
            ),
        ],
    )
    failures = dbt_failures(tmp_path / "target", 1, tmp_path / "output.log")
    assert [(f.check, f.subject, f.figure) for f in failures] == [
        (
            "dbt_test",
            "source_accepted_values_shop_orders_event_type__email_delivered__email_opened",
            "Got 2 results",
        ),
        ("dbt_test", "assert_raw_rows_reconcile", "Got 1 result"),
        ("dbt_model", "clv_model_fit", "RuntimeError: injected"),
        ("dbt_test", "test_boundaries", "actual differs"),  # a unit test: its own name
    ]


def test_an_invocation_removes_the_results_of_the_one_before(tmp_path):
    target, log = tmp_path / "target", tmp_path / "runs" / "r1" / "output.log"
    _run_results(target, [_result("model.clv_segments.clv_model_fit", "error", "old")])
    invocation = dbt_invocation(
        ["build"], RunOptions(tmp_path / "w.duckdb", tmp_path, target_path=target),
        tmp_path / "w.candidate.duckdb", {"as_of_date": "2026-11-20"}, log, "r1",
    )  # fmt: skip
    invocation.prepare()
    assert log.parent.is_dir()
    assert not (target / "run_results.json").exists()
    # dbt then stops before writing any result (e.g. a compilation error): the report reads
    # dbt's error lines from the log, not the stale results
    log.write_text("Compilation Error in model x\n  bad jinja\n", encoding="utf-8")
    (failure,) = dbt_failures(target, 2, log)
    assert (failure.check, failure.subject) == ("dbt", "build")
    assert "Compilation Error in model x" in failure.figure

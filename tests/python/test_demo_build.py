"""The main job on demo data: `dbt build` is green (every data test passes) and the
bad rows the generator injected are all accounted for, with the right reason codes."""

from __future__ import annotations

import json


def test_dbt_build_is_green_with_every_test_run(demo_build):
    results = demo_build.run_results()
    # exposures are listed as no-op: dbt has nothing to run for them
    statuses = {r["status"] for r in results if not r["unique_id"].startswith("exposure.")}
    assert statuses <= {"success", "pass", "warn"}, statuses
    kinds = {result["unique_id"].split(".")[0] for result in results}
    assert {"model", "test", "seed"} <= kinds


def test_injected_bad_rows_are_rejected_with_their_reason(demo_build, demo_raw):
    injected = json.loads((demo_raw / "true_parameters.json").read_text())["injected_bad_rows"]
    counts = dict(
        demo_build.query(
            "select source_table || ':' || rejection_reason, count(*) "
            "from marts.rejected_rows group by 1"
        )
    )
    orders, refunds, events = injected["orders"], injected["refunds"], injected["events"]
    assert counts["orders:unknown_currency"] == orders["unknown_currency"]
    assert counts["orders:negative_amount"] == orders["negative_amount"]
    assert counts["orders:missing_customer_id"] == orders["missing_customer_id"]
    assert counts["orders:after_as_of_date"] == orders["after_as_of_date"]
    # a key conflict rejects both versions of the order
    assert counts["orders:duplicate_key_conflict"] == 2 * orders["key_conflict"]
    assert counts["refunds:orphan_refund"] == refunds["orphan"]
    assert counts["refunds:refund_exceeds_order"] == refunds["exceeds_order"]
    assert counts["events:unknown_event_type"] == events["unknown_event_type"]
    assert counts["events:after_as_of_date"] == events["after_as_of_date"]


def test_every_raw_row_is_accounted_for(demo_build, demo_raw):
    rows = json.loads((demo_raw / "true_parameters.json").read_text())["rows"]
    reconciliation = demo_build.query(
        "select source_table, accounted_rows, collapsed_duplicates "
        "from marts.raw_row_reconciliation"
    )
    assert {table: accounted for table, accounted, _ in reconciliation} == rows
    injected = json.loads((demo_raw / "true_parameters.json").read_text())["injected_bad_rows"]
    collapsed = {table: n for table, _, n in reconciliation}
    for table in ("customers", "orders", "events"):
        assert collapsed[table] >= injected[table]["exact_duplicate"]


def test_predictions_are_scored_for_buyers(demo_build):
    statuses = dict(
        demo_build.query(
            "select prediction_status, count(*) from marts.customer_predictions group by 1"
        )
    )
    assert statuses["scored"] > 10_000
    assert set(statuses) <= {"scored", "no_valid_order", "outside_history_window"}

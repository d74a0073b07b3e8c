"""Each generic test of macros/generic_tests and the reconciliation test can fail: on a corrupted
copy of the demo warehouse, the test guarding each broken invariant reports it."""

from __future__ import annotations

import shutil

import duckdb

from clv_segments.runs import dbt_failures
from conftest import DEMO_AS_OF_DATE

from dbt_harness import run_dbt

CORRUPTIONS = [
    # (SQL that breaks one invariant, the test name prefix that must fail)
    (
        "update marts.customer_predictions set churn_probability = 1.5 "
        "where customer_id = (select min(customer_id) from marts.customer_predictions "
        "where prediction_status = 'scored')",
        "expect_column_rules_customer_predictions",
    ),
    (
        "update marts.customer_predictions set churn_risk = 'extreme' "
        "where customer_id = (select max(customer_id) from marts.customer_predictions "
        "where churn_risk is not null)",
        "expect_column_rules_customer_predictions",
    ),
    (
        "update history.segment_membership_history set change_type = null "
        "where rowid = (select min(rowid) from history.segment_membership_history)",
        "expect_column_rules_segment_membership_history",
    ),
    (
        "update marts.customer_predictions set total_clv = total_clv + 5 "
        "where customer_id = (select max(customer_id) from marts.customer_predictions "
        "where prediction_status = 'scored')",
        "expect_column_pair_values_to_be_equal_customer_predictions_total_clv",
    ),
    (
        "insert into marts.clv_model_parameters select * from marts.clv_model_parameters limit 1",
        "expect_compound_columns_to_be_unique_clv_model_parameters",
    ),
    (
        "update marts.customer_tiers set clv_tier = 'low' where customer_id = "
        "(select min(customer_id) from marts.customer_tiers where clv_tier = 'premium')",
        "expect_tier_consistent_with_seed_customer_tiers_clv_tier",
    ),
    (
        "delete from marts.customer_segments where customer_id = "
        "(select min(customer_id) from marts.customer_segments where segment_name = 'brand_fans')"
        " and segment_name = 'brand_fans'",
        "expect_segment_sizes_to_match_memberships_segment_summary",
    ),
    (
        "insert into intermediate.int_orders_aggregated_to_customers "
        "select * from intermediate.int_orders_aggregated_to_customers limit 1",
        "primary_key_int_orders_aggregated_to_customers_customer_id",
    ),
    (
        "update intermediate.int_events_aggregated_to_customers set customer_id = null "
        "where rowid = (select min(rowid) from intermediate.int_events_aggregated_to_customers)",
        "primary_key_int_events_aggregated_to_customers_customer_id",
    ),
    (
        "update marts.raw_row_reconciliation set accounted_rows = accounted_rows - 1 "
        "where source_table = 'orders'",
        "assert_raw_rows_reconcile",
    ),
]


def test_each_generic_test_catches_its_broken_invariant(demo_build, demo_raw, tmp_path):
    database = tmp_path / "corrupted.duckdb"
    shutil.copy(demo_build.database, database)
    with duckdb.connect(str(database)) as con:
        for statement, _ in CORRUPTIONS:
            con.execute(statement)
    result = run_dbt(
        ["test", "--select", "customer_predictions", "clv_model_parameters", "customer_tiers",
         "segment_summary", "segment_membership_history", "int_orders_aggregated_to_customers",
         "int_events_aggregated_to_customers", "assert_raw_rows_reconcile"],
        tmp_path,
        {"raw_data_path": str(demo_raw), "as_of_date": DEMO_AS_OF_DATE},
        database=database,
        check=False,
    )  # fmt: skip
    failed = {r["unique_id"].split(".")[2] for r in result.run_results() if r["status"] == "fail"}
    for _, test_prefix in CORRUPTIONS:
        assert any(name.startswith(test_prefix) for name in failed), (
            f"no failing test starts with {test_prefix}; failed: {sorted(failed)}"
        )
    # a model's column rules are one test: the run's report names each rule it found broken
    figures = {
        failure.subject: failure.figure
        for failure in dbt_failures(result.target_dir, 1, tmp_path / "dbt.log", database)
    }
    assert figures["expect_column_rules_customer_predictions"] == (
        "churn_probability between (>= 0 and <= 1): 1 row; "
        "churn_risk accepted_values (low, medium, high): 1 row"
    )
    assert figures["expect_column_rules_segment_membership_history"] == (
        "change_type not_null: 1 row"
    )


def test_the_same_tests_pass_on_the_intact_warehouse(demo_build):
    passed = {
        r["unique_id"].split(".")[2]
        for r in demo_build.run_results()
        if r["unique_id"].startswith("test.") and r["status"] == "pass"
    }
    for _, test_prefix in CORRUPTIONS:
        assert any(name.startswith(test_prefix) for name in passed), test_prefix

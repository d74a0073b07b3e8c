"""Each generic test of macros/generic_tests and the reconciliation test can fail: on a corrupted
copy of the demo warehouse, the test guarding each broken invariant reports it."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from clv_segments.runs import dbt_failures
from conftest import DEMO_AS_OF_DATE

from dbt_harness import parse_project, project_copy, run_dbt

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
        # a reference (dbt's relationships) is one of the model's column rules
        "update marts.customer_rfm set rfm_score = 999 "
        "where customer_id = (select min(customer_id) from marts.customer_rfm)",
        "expect_column_rules_customer_rfm",
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
    # the copy keeps the file's name: DuckDB's views (the staging models) name their catalog,
    # the file's stem, and a reference rule reads them
    database = tmp_path / "corrupted" / demo_build.database.name
    database.parent.mkdir()
    shutil.copy(demo_build.database, database)
    with duckdb.connect(str(database)) as con:
        for statement, _ in CORRUPTIONS:
            con.execute(statement)
    result = run_dbt(
        ["test", "--select", "customer_predictions", "customer_rfm", "clv_model_parameters",
         "customer_tiers", "segment_summary", "segment_membership_history",
         "int_orders_aggregated_to_customers", "int_events_aggregated_to_customers",
         "assert_raw_rows_reconcile"],
        tmp_path,
        {"raw_data_path": str(demo_raw), "as_of_date": DEMO_AS_OF_DATE},
        database=database,
        check=False,
    )  # fmt: skip
    errors = [r["unique_id"] for r in result.run_results() if r["status"] == "error"]
    assert not errors, errors  # a test that cannot run proves nothing
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
    assert figures["expect_column_rules_customer_rfm"] == (
        "rfm_score references rfm_groups.rfm_score: 1 row"
    )


def test_the_same_tests_pass_on_the_intact_warehouse(demo_build):
    passed = {
        r["unique_id"].split(".")[2]
        for r in demo_build.run_results()
        if r["unique_id"].startswith("test.") and r["status"] == "pass"
    }
    for _, test_prefix in CORRUPTIONS:
        assert any(name.startswith(test_prefix) for name in passed), test_prefix


# expect_column_rules' arguments that dbt's parse must refuse: (the YAML as written in
# models/marts/clv/_clv__models.yml, the same rule given badly, what the message must say)
BAD_RULE_ARGUMENTS = {
    "between_with_an_unknown_key": (
        "estimate: {min_value: 0, strictly: true}",
        "estimate: {min: 0}",
        "between of column estimate takes min_value and/or max_value and strictly, got {'min': 0}",
    ),
    "between_without_a_bound": (
        "estimate: {min_value: 0, strictly: true}",
        "estimate: {strictly: true}",
        "between of column estimate takes min_value and/or max_value and strictly",
    ),
    "accepted_values_not_a_list": (
        "churn_risk: [low, medium, high]",
        "churn_risk: low",
        "accepted_values of column churn_risk must be a non-empty list of values, got low",
    ),
    "references_without_a_field": (
        "customer_id: {to: ref('stg_shop__customers'), field: customer_id}",
        "customer_id: {to: ref('stg_shop__customers')}",
        "references of column customer_id takes to (a ref or source) and field",
    ),
    "no_rule": (
        "arguments:\n            between:\n              estimate: {min_value: 0, strictly: true}",
        "arguments: {}",
        "no rule given (not_null, accepted_values, between, references)",
    ),
}


@pytest.fixture(scope="module")
def parsed_copy(tmp_path_factory) -> tuple[Path, Path]:
    """A copy of the project, parsed once: each case changes one YAML file, so dbt's partial
    parse reads only that file again (dbt keeps its saved parse only after a good one)."""
    folder = tmp_path_factory.mktemp("bad_rule_arguments")
    project, work = project_copy(folder), folder / "work"
    code, output = parse_project(project, work)
    assert code == 0, output[-3000:]
    return project, work


@pytest.mark.parametrize("case", sorted(BAD_RULE_ARGUMENTS))
def test_bad_rule_arguments_stop_the_parse_naming_the_test_and_the_column(case, parsed_copy):
    written, bad, expected = BAD_RULE_ARGUMENTS[case]
    project, work = parsed_copy
    models = project / "models" / "marts" / "clv" / "_clv__models.yml"
    text = models.read_text(encoding="utf-8")
    assert written in text, f"{written!r} not in {models}"
    models.write_text(text.replace(written, bad, 1), encoding="utf-8")
    try:
        code, output = parse_project(project, work)
    finally:
        models.write_text(text, encoding="utf-8")
    assert code == 2, output[-3000:]
    test = (
        "expect_column_rules_customer_predictions"
        if "churn_risk" in written or "customer_id" in written
        else "expect_column_rules_clv_model_parameters"
    )
    assert f"{test} (models/marts/clv/_clv__models.yml)" in output, output[-3000:]
    assert f"expect_column_rules: {expected}" in output, output[-3000:]

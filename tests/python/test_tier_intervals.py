"""The generic test guarding the tier seeds (expect_intervals_to_cover_without_gaps_or_overlaps)
passes on a partition of the line and fails, with the right problem, on each way a tier table can
be wrong. All cases run through one `dbt show` of the test's SQL on inline tables."""

from __future__ import annotations

import json

from dbt_harness import FIXTURES_DIR, run_dbt

# (case, rows as lower, upper, lower_inclusive, upper_inclusive)
CASES = {
    "design_clv_tiers": "(null, 200, null, false), (200, 500, true, false), "
    "(500, 1000, true, true), (1000, null, false, null)",
    "overlap_at_500": "(null, 500, null, true), (500, null, true, null)",
    "gap_at_500": "(null, 500, null, false), (500, null, false, null)",
    "gap_between_bounds": "(null, 200, null, false), (300, null, true, null)",
    "no_open_top": "(null, 200, null, false), (200, 500, true, true)",
    "missing_flag": "(null, 200, null, false), (200, null, null, null)",
}
EXPECTED = {
    "design_clv_tiers": set(),
    "overlap_at_500": {"overlap: the shared bound belongs to both intervals"},
    "gap_at_500": {"gap: the shared bound belongs to neither interval"},
    "gap_between_bounds": {"gap or overlap: the upper bound is not the next lower bound"},
    "no_open_top": {"the last interval must have no upper bound"},
    "missing_flag": {"a bound without its inclusive flag"},
}


def _case_sql(name: str, rows: str) -> str:
    table = (
        f"(select * from (values {rows}) as t(lower_bound, upper_bound, lower_inclusive, "
        "upper_inclusive))"
    )
    test = (
        "{{ test_expect_intervals_to_cover_without_gaps_or_overlaps("
        f"model='{table}', lower_bound='lower_bound', upper_bound='upper_bound', "
        "lower_inclusive='lower_inclusive', upper_inclusive='upper_inclusive') }}"
    )
    return f"select '{name}' as case_name, problem from ({test}) as problems"


def test_each_broken_tier_table_fails_with_its_problem(tmp_path):
    inline = " union all ".join(_case_sql(name, rows) for name, rows in CASES.items())
    result = run_dbt(
        ["show", "--inline", inline, "--output", "json", "--limit", "100", "--quiet"],
        tmp_path,
        {"raw_data_path": str(FIXTURES_DIR / "bad_input"), "as_of_date": "2024-06-30"},
    )
    rows = json.loads(result.output[result.output.index("{") :])["show"]
    found: dict[str, set[str]] = {name: set() for name in CASES}
    for row in rows:
        found[row["case_name"]].add(row["problem"])
    assert found == EXPECTED

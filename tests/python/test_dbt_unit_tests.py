"""Every dbt unit test passes. They check the SQL of a model against fixed inputs, so they run
here once, not in every build: `clv-segments run` and the harness's builds leave them out (dbt's
advice; DECISIONLOG "Unit tests run in CI, not in production runs")."""

from __future__ import annotations

import json
import shutil

from dbt_harness import run_dbt


def test_every_dbt_unit_test_passes(demo_build, demo_raw, tmp_path):
    # the unit tests' inputs take their column types from the built relations: a copy of the
    # demo warehouse has them all
    database = tmp_path / "warehouse.duckdb"
    shutil.copyfile(demo_build.database, database)
    result = run_dbt(
        ["test", "--select", "test_type:unit"],
        tmp_path,
        {"raw_data_path": str(demo_raw), "as_of_date": "2026-11-20"},
        database=database,
        check=False,
    )
    assert result.returncode == 0, result.output[-6000:]

    manifest = json.loads((result.target_dir / "manifest.json").read_text(encoding="utf-8"))
    defined = set(manifest["unit_tests"])
    ran = {
        row["unique_id"]: row["status"]
        for row in result.run_results()
        if row["unique_id"].startswith("unit_test.")  # the run's hooks are listed too
    }
    assert len(defined) >= 38
    assert set(ran) == defined
    assert set(ran.values()) == {"pass"}


def test_the_demo_build_ran_every_data_test_and_no_unit_test(demo_build):
    kinds = [row["unique_id"].split(".")[0] for row in demo_build.run_results()]
    manifest = json.loads((demo_build.target_dir / "manifest.json").read_text(encoding="utf-8"))
    data_tests = [uid for uid in manifest["nodes"] if uid.startswith("test.")]
    assert kinds.count("test") == len(data_tests) > 150
    assert "unit_test" not in kinds

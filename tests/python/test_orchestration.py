"""The Dagster code location: the definitions load (dbt assets, data quality suite, dashboard,
exports, the weekly and daily jobs and schedules), and the weekly job materialises everything
in process on a small generated shop."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest
import yaml

from dbt_harness import PROJECT_DIR

dg = pytest.importorskip("dagster", reason="dagster is not installed (pin dagster, dagster-dbt)")
pytest.importorskip("dagster_dbt", reason="dagster-dbt is not installed")

from clv_segments.generator import generate  # noqa: E402
from clv_segments.orchestration.assets import find_run_validation  # noqa: E402
from clv_segments.orchestration.definitions import (  # noqa: E402
    DAILY_CRON,
    WEEKLY_CRON,
    build_definitions,
)

AS_OF_DATE = date(2026, 11, 20)
CUSTOMERS = 2_000  # enough for the readiness gate (500 customers with a valid order)
FIT = dg.AssetKey(["intermediate", "clv_model_fit"])
PREDICTIONS = dg.AssetKey(["marts", "customer_predictions"])
SEGMENTS = dg.AssetKey(["marts", "customer_segments"])
DOWNSTREAM = {dg.AssetKey("clv_dashboard"), dg.AssetKey("activation_exports")}
VALIDATION = dg.AssetKey("data_quality_validation")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("dagster")
    generate(
        n_customers=CUSTOMERS,
        as_of_date=AS_OF_DATE,
        seed=7,
        out_dir=work / "raw",
        dirty_fraction=0.0,
    )
    return work


@pytest.fixture(scope="module")
def defs(workdir):
    patch = pytest.MonkeyPatch()
    # profiles.yml and the assets read the same file; the dbt asset sets it for dbt, restore it
    patch.setenv("CLV_DUCKDB_PATH", str(workdir / "warehouse.duckdb"))
    patch.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    yield build_definitions(
        project_dir=PROJECT_DIR,
        target_path=workdir / "target",
        database_path=workdir / "warehouse.duckdb",
        artifacts_dir=workdir / "artifacts",
        backtest_path=workdir / "no_backtest.json",
        dbt_vars=json.dumps(
            {"raw_data_path": str(workdir / "raw"), "as_of_date": AS_OF_DATE.isoformat()}
        ),
    )
    patch.undo()


def _job_keys(defs, name: str) -> set:
    return set(defs.resolve_job_def(name).asset_layer.selected_asset_keys)


def test_definitions_load(defs):
    dg.Definitions.validate_loadable(defs)
    keys = set(defs.resolve_asset_graph().get_all_asset_keys())
    assert {FIT, PREDICTIONS, SEGMENTS} | DOWNSTREAM <= keys
    assert (VALIDATION in keys) == (find_run_validation() is not None)


def test_dashboard_and_exports_come_after_the_quality_suite_or_the_marts(defs):
    graph = defs.resolve_asset_graph()
    for key in DOWNSTREAM:
        parents = graph.get(key).parent_keys
        if find_run_validation() is not None:
            assert parents == {VALIDATION}
            assert PREDICTIONS in graph.get(VALIDATION).parent_keys
        else:
            assert PREDICTIONS in parents


def test_weekly_job_is_everything_and_daily_leaves_the_fit_out(defs):
    weekly, daily = _job_keys(defs, "clv_weekly_refresh"), _job_keys(defs, "clv_daily_segments")
    graph = defs.resolve_asset_graph()
    assert weekly == {key for key in graph.get_all_asset_keys() if graph.get(key).is_materializable}
    assert FIT in weekly and FIT not in daily
    assert weekly - daily == {FIT}
    assert {PREDICTIONS, SEGMENTS} | DOWNSTREAM <= daily


def test_schedules_are_weekly_and_daily_and_never_collide(defs):
    weekly = defs.resolve_schedule_def("clv_weekly_refresh_schedule")
    daily = defs.resolve_schedule_def("clv_daily_segments_schedule")
    assert (weekly.cron_schedule, weekly.job_name) == (WEEKLY_CRON, "clv_weekly_refresh")
    assert (daily.cron_schedule, daily.job_name) == (DAILY_CRON, "clv_daily_segments")
    assert weekly.cron_schedule == "0 6 * * 1"  # Mondays
    assert daily.cron_schedule == "0 6 * * 0,2-6"  # every other day
    assert weekly.execution_timezone == daily.execution_timezone == "UTC"


def test_workspace_points_dagster_dev_at_the_definitions():
    workspace = yaml.safe_load((PROJECT_DIR / "workspace.yaml").read_text())
    module = workspace["load_from"][0]["python_module"]
    assert module["module_name"] == "clv_segments.orchestration.definitions"
    assert module["attribute"] == "defs"


@pytest.fixture(scope="module")
def weekly_run(defs):
    return defs.resolve_job_def("clv_weekly_refresh").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )


def _materialised(result) -> set:
    return {event.asset_key for event in result.get_asset_materialization_events()}


def test_weekly_job_materialises_everything_in_process(weekly_run, workdir):
    failed = [event.step_key for event in weekly_run.all_events if event.is_step_failure]
    assert weekly_run.success, f"failed steps: {failed}"
    materialised = _materialised(weekly_run)
    assert {FIT, PREDICTIONS, SEGMENTS} | DOWNSTREAM <= materialised
    if find_run_validation() is not None:
        assert VALIDATION in materialised

    database = workdir / "warehouse.duckdb"
    with duckdb.connect(str(database), read_only=True) as con:
        (customers,) = con.execute("select count(*) from marts.customer_predictions").fetchone()
        (with_email,) = con.execute(
            "select count(*) from marts.customer_predictions as p "
            "join staging.stg_shop__customers as c using (customer_id) where c.email is not null"
        ).fetchone()
    assert customers == CUSTOMERS

    page = (workdir / "artifacts" / "dashboard" / "index.html").read_text(encoding="utf-8")
    assert f"data-field='customers'>{customers:,}<" in page
    manifest = json.loads((workdir / "artifacts" / "exports" / "export_manifest.json").read_text())
    assert manifest["profile_properties"]["rows_written"] == with_email
    assert manifest["segments_built"] is True
    assert manifest["segments"], "no segment exported"


class _StubSuite:
    """Stands in for clv_segments.validation.run_validation and records how it was called."""

    def __init__(self, success: bool) -> None:
        self.success = success
        self.calls: list[tuple[str, dict]] = []

    def __call__(self, database_path, project_dir=".", data_docs_dir="x", dbt_vars=None):
        self.calls.append(
            (
                str(database_path),
                {"project_dir": project_dir, "data_docs_dir": data_docs_dir, "dbt_vars": dbt_vars},
            )
        )
        return {"success": self.success}


def _run_after_dbt(workdir, monkeypatch, suite: _StubSuite):
    """Validation, dashboard and exports only (the warehouse the weekly run built), with a stub
    quality suite."""
    from clv_segments.orchestration import assets

    monkeypatch.setattr(assets, "find_run_validation", lambda: suite)
    stubbed = build_definitions(
        project_dir=PROJECT_DIR,
        target_path=workdir / "target",
        database_path=workdir / "warehouse.duckdb",
        artifacts_dir=workdir / "artifacts_stub",
        backtest_path=workdir / "no_backtest.json",
        dbt_vars=json.dumps({"as_of_date": AS_OF_DATE.isoformat()}),
    )
    return stubbed.resolve_job_def("clv_weekly_refresh").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        asset_selection=[VALIDATION, *DOWNSTREAM],
        raise_on_error=False,
    )


def test_failed_quality_suite_stops_dashboard_and_exports(weekly_run, workdir, monkeypatch):
    suite = _StubSuite(success=False)
    result = _run_after_dbt(workdir, monkeypatch, suite)
    assert not result.success
    assert _materialised(result) == set()
    assert not (workdir / "artifacts_stub" / "dashboard" / "index.html").exists()
    assert not (workdir / "artifacts_stub" / "exports").exists()


def test_passing_quality_suite_lets_dashboard_and_exports_run(weekly_run, workdir, monkeypatch):
    suite = _StubSuite(success=True)
    result = _run_after_dbt(workdir, monkeypatch, suite)
    assert result.success
    assert _materialised(result) == {VALIDATION} | DOWNSTREAM
    database, kwargs = suite.calls[0]
    assert database == str(workdir / "warehouse.duckdb")
    assert kwargs["data_docs_dir"] == str(workdir / "artifacts_stub" / "data_docs")
    assert kwargs["dbt_vars"] == {"as_of_date": AS_OF_DATE.isoformat()}
    assert (workdir / "artifacts_stub" / "dashboard" / "index.html").exists()

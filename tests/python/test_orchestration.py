"""The Dagster code location: the definitions load (published_warehouse, then the dashboard and
the exports, one daily job and schedule); the job materialises everything in process on a small
generated shop; a failing audit fails published_warehouse, nothing downstream runs and the
published file is unchanged; a configuration error fails it before anything is built."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest
import yaml

from dbt_harness import PROJECT_DIR

dg = pytest.importorskip("dagster", reason="dagster is not installed (pin dagster)")

from clv_segments.demo.generator import generate  # noqa: E402
from clv_segments.orchestration.definitions import (  # noqa: E402
    DAILY_CRON,
    JOB_NAME,
    SCHEDULE_NAME,
    build_definitions,
)
from clv_segments.runs import candidate_path  # noqa: E402

AS_OF_DATE = date(2026, 11, 20)
CUSTOMERS = 2_000  # enough for the readiness gate (500 customers with a valid order)
PUBLISHED = dg.AssetKey("published_warehouse")
DASHBOARD = dg.AssetKey("clv_dashboard")
EXPORTS = dg.AssetKey("activation_exports")
DOWNSTREAM = {DASHBOARD, EXPORTS}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """A generated shop with the generator's default injected bad rows (a few per table)."""
    work = tmp_path_factory.mktemp("dagster")
    generate(n_customers=CUSTOMERS, as_of_date=AS_OF_DATE, seed=7, out_dir=work / "raw")
    return work


def _definitions(workdir: Path, name: str, database: Path, **extra_vars) -> dg.Definitions:
    dbt_vars = {"raw_data_path": str(workdir / "raw"), "as_of_date": AS_OF_DATE.isoformat()}
    return build_definitions(
        project_dir=PROJECT_DIR,
        target_path=workdir / name / "target",
        database_path=database,
        artifacts_dir=workdir / name / "artifacts",
        dbt_vars=json.dumps({**dbt_vars, **extra_vars}),
    )


@pytest.fixture(scope="module")
def defs(workdir) -> dg.Definitions:
    return _definitions(workdir, "main", workdir / "warehouse" / "warehouse.duckdb")


def _execute(definitions: dg.Definitions):
    return definitions.resolve_job_def(JOB_NAME).execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )


def _materialised(result) -> set:
    return {event.asset_key for event in result.get_asset_materialization_events()}


def _started_steps(result) -> set[str]:
    return {event.step_key for event in result.all_events if event.is_step_start}


def _failures(result) -> dict:
    return {
        event.step_key: event.step_failure_data
        for event in result.all_events
        if event.is_step_failure
    }


def _checksum(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- the definitions ---------------------------------------------------------------------------


def test_definitions_load_with_the_published_warehouse_first(defs):
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    assert set(graph.get_all_asset_keys()) == {PUBLISHED} | DOWNSTREAM
    assert graph.get(PUBLISHED).parent_keys == set()
    for key in DOWNSTREAM:
        assert graph.get(key).parent_keys == {PUBLISHED}
    assert graph.get(PUBLISHED).group_name == "warehouse"
    assert {graph.get(key).group_name for key in DOWNSTREAM} == {"activation"}


def test_one_job_runs_everything_daily(defs):
    job = defs.resolve_job_def(JOB_NAME)
    assert set(job.asset_layer.selected_asset_keys) == {PUBLISHED} | DOWNSTREAM
    schedules = list(defs.schedules or [])
    assert [schedule.name for schedule in schedules] == [SCHEDULE_NAME]
    schedule = defs.resolve_schedule_def(SCHEDULE_NAME)
    assert (schedule.cron_schedule, schedule.job_name) == (DAILY_CRON, JOB_NAME)
    assert schedule.cron_schedule == "0 6 * * *"
    assert schedule.execution_timezone == "UTC"


def test_workspace_points_dagster_dev_at_the_definitions():
    workspace = yaml.safe_load((PROJECT_DIR / "workspace.yaml").read_text())
    module = workspace["load_from"][0]["python_module"]
    assert module["module_name"] == "clv_segments.orchestration.definitions"
    assert module["attribute"] == "defs"


# --- a run that publishes ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def refresh_run(defs):
    return _execute(defs)


def test_job_materialises_everything_in_process(refresh_run, workdir):
    assert refresh_run.success, f"failed steps: {_failures(refresh_run)}"
    assert _materialised(refresh_run) == {PUBLISHED} | DOWNSTREAM

    database = workdir / "warehouse" / "warehouse.duckdb"
    assert not candidate_path(database).exists()  # renamed over the published file
    with duckdb.connect(str(database), read_only=True) as con:
        (customers,) = con.execute("select count(*) from marts.customer_predictions").fetchone()
        (with_email,) = con.execute(
            "select count(*) from marts.customer_predictions as p "
            "join staging.stg_shop__customers as c using (customer_id) where c.email is not null"
        ).fetchone()
        (published_as_of,) = con.execute("select max(as_of_date) from history.run_log").fetchone()
    assert customers == CUSTOMERS
    assert published_as_of == AS_OF_DATE

    artifacts = workdir / "main" / "artifacts"
    page = (artifacts / "dashboard" / "index.html").read_text(encoding="utf-8")
    assert f"data-field='customers'>{customers:,}<" in page
    manifest = json.loads((artifacts / "exports" / "export_manifest.json").read_text())
    assert manifest["database"] == str(database)
    assert manifest["profile_properties"]["rows_written"] == with_email
    assert manifest["segments"], "no segment exported"
    # a first run: no membership history over the guardrails' window, nothing claims "checked"
    assert {s["status"] for s in manifest["segments"]} == {"written_unchecked"}
    assert (artifacts / "data_docs").is_dir()  # the audit's Great Expectations Data Docs

    (published,) = [
        event
        for event in refresh_run.get_asset_materialization_events()
        if event.asset_key == PUBLISHED
    ]
    metadata = published.materialization.metadata
    assert metadata["as_of_date"].value == AS_OF_DATE.isoformat()
    assert metadata["stage"].value == "published"


# --- a run whose audit fails -------------------------------------------------------------------


@pytest.fixture(scope="module")
def published_copy(refresh_run, workdir) -> Path:
    """A copy of the warehouse the job published, for the runs below to (not) change."""
    assert refresh_run.success
    copy = workdir / "copy" / "warehouse.duckdb"
    copy.parent.mkdir()
    shutil.copyfile(workdir / "warehouse" / "warehouse.duckdb", copy)
    return copy


def test_failing_audit_publishes_nothing_and_stops_dashboard_and_exports(published_copy, workdir):
    """Any rejected raw row breaches a 0 % threshold, and the generator injects some."""
    before = _checksum(published_copy)
    inode = published_copy.stat().st_ino
    result = _execute(
        _definitions(workdir, "failing", published_copy, breaker_max_rejected_share=0.0)
    )
    assert not result.success
    failures = _failures(result)
    assert set(failures) == {"published_warehouse"}
    failure = failures["published_warehouse"].user_failure_data
    assert "NOT PUBLISHED: the input audit failed" in failure.description
    assert "rejected_share" in failure.description
    assert "breaker_max_rejected_share" in failure.description
    checks = failure.metadata["failed_checks"].value
    assert checks and {check["check"] for check in checks} == {"rejected_share"}
    assert {check["var"] for check in checks} == {"breaker_max_rejected_share"}

    assert _materialised(result) == set()
    assert _started_steps(result) == {"published_warehouse"}  # nothing downstream ran
    assert not (workdir / "failing" / "artifacts" / "dashboard").exists()
    assert not (workdir / "failing" / "artifacts" / "exports").exists()
    assert _checksum(published_copy) == before
    assert published_copy.stat().st_ino == inode
    assert candidate_path(published_copy).exists()  # kept for inspection


def test_configuration_error_fails_before_anything_is_built(published_copy, workdir):
    """A backdated as-of date is refused by the pre-flight: nothing is built or published."""
    before = _checksum(published_copy)
    result = _execute(_definitions(workdir, "backdated", published_copy, as_of_date="2026-11-01"))
    assert not result.success
    failures = _failures(result)
    assert set(failures) == {"published_warehouse"}
    description = failures["published_warehouse"].user_failure_data.description
    assert description.startswith("configuration error, nothing was built")
    assert "as_of_date" in description
    assert _started_steps(result) == {"published_warehouse"}
    assert _checksum(published_copy) == before

"""The Dagster definitions: assets, the weekly and daily jobs, their schedules, resources.

- ``clv_weekly_refresh`` (Mondays 06:00 UTC): everything, the CLV fit included — Klaviyo
  refreshes its predictions weekly.
- ``clv_daily_segments`` (the other days, 06:00 UTC): everything but the CLV fit
  (``clv_model_fit``): orders, engagement, segments, scoring with the week's parameters, the
  data quality suite, the dashboard and the exports. The two never fire together, so two runs
  never write the DuckDB file at once.

Locations come from the environment, as for the rest of the project: CLV_DUCKDB_PATH (the
warehouse file, also read by profiles.yml), CLV_ARTIFACTS_DIR (default artifacts/),
CLV_BACKTEST_RESULTS (default data/backtest/backtest_results.json), CLV_DBT_VARS (a YAML
mapping passed to dbt --vars, e.g. "{raw_data_path: data/raw}") and CLV_DBT_PROJECT_DIR (default:
the folder holding this package's src/). ``dagster dev`` parses the dbt project at load time
(DbtProject.prepare_if_dev); elsewhere a missing manifest is prepared with ``dbt parse`` once.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject, get_asset_key_for_model

from clv_segments.orchestration.assets import CLV_FIT_MODEL, ClvWarehouse, build_assets

__all__ = [
    "DAILY_CRON",
    "PROJECT_DIR",
    "WEEKLY_CRON",
    "build_definitions",
    "defs",
]

PROJECT_DIR = Path(os.environ.get("CLV_DBT_PROJECT_DIR") or Path(__file__).resolve().parents[3])
WEEKLY_CRON = "0 6 * * 1"  # Mondays 06:00
DAILY_CRON = "0 6 * * 0,2-6"  # the other days 06:00: never at the same time as the weekly run
TIMEZONE = "UTC"


def _dbt_executable() -> str:
    beside_python = Path(sys.executable).with_name("dbt")
    return str(beside_python) if beside_python.exists() else "dbt"


def _path(value: str | Path | None, variable: str, default: str) -> str:
    chosen = value or os.environ.get(variable) or PROJECT_DIR / default
    path = Path(chosen)
    return str(path if path.is_absolute() else PROJECT_DIR / path)


def prepare_project(project: DbtProject) -> None:
    """``dbt parse`` under ``dagster dev`` (as DbtProject.prepare_if_dev) or when the project
    has no manifest yet, with the dbt beside this Python (the preparer's needs dbt on PATH)."""
    if project.preparer.using_dagster_dev() or not project.manifest_path.exists():
        dbt = DbtCliResource(project_dir=project, dbt_executable=_dbt_executable())
        dbt.cli(["parse", "--quiet"], target_path=project.target_path).wait()


def build_definitions(
    project_dir: str | Path = PROJECT_DIR,
    target_path: str | Path = "target",
    database_path: str | Path | None = None,
    artifacts_dir: str | Path | None = None,
    backtest_path: str | Path | None = None,
    dbt_vars: str | None = None,
) -> dg.Definitions:
    """All definitions for one dbt project; arguments override the environment (tests)."""
    project = DbtProject(project_dir=Path(project_dir), target_path=Path(target_path))
    prepare_project(project)
    assets = build_assets(project)
    dbt_project_assets = assets[0]
    fit_key = get_asset_key_for_model([dbt_project_assets], CLV_FIT_MODEL)

    weekly_job = dg.define_asset_job(
        "clv_weekly_refresh",
        selection=dg.AssetSelection.all(),
        description="Weekly: dbt build with the CLV fit, data quality suite, dashboard, exports.",
    )
    daily_job = dg.define_asset_job(
        "clv_daily_segments",
        selection=dg.AssetSelection.all()
        - dg.AssetSelection.assets(fit_key)
        - dg.AssetSelection.checks_for_assets(fit_key),
        description=(
            "Daily: everything but the CLV fit (scoring reuses the week's parameters): "
            "segments, data quality suite, dashboard, exports."
        ),
    )
    schedules = [
        dg.ScheduleDefinition(
            name="clv_weekly_refresh_schedule",
            job=weekly_job,
            cron_schedule=WEEKLY_CRON,
            execution_timezone=TIMEZONE,
        ),
        dg.ScheduleDefinition(
            name="clv_daily_segments_schedule",
            job=daily_job,
            cron_schedule=DAILY_CRON,
            execution_timezone=TIMEZONE,
        ),
    ]
    warehouse = ClvWarehouse(
        database_path=_path(database_path, "CLV_DUCKDB_PATH", "data/clv_segments.duckdb"),
        artifacts_dir=_path(artifacts_dir, "CLV_ARTIFACTS_DIR", "artifacts"),
        backtest_path=_path(
            backtest_path, "CLV_BACKTEST_RESULTS", "data/backtest/backtest_results.json"
        ),
        manifest_path=str(project.manifest_path),
        dbt_vars=dbt_vars if dbt_vars is not None else os.environ.get("CLV_DBT_VARS", ""),
    )
    return dg.Definitions(
        assets=assets,
        jobs=[weekly_job, daily_job],
        schedules=schedules,
        resources={
            "dbt": DbtCliResource(project_dir=project, dbt_executable=_dbt_executable()),
            "clv": warehouse,
        },
    )


@dg.definitions
def defs() -> dg.Definitions:
    """The code location ``dagster dev`` loads (workspace.yaml)."""
    return build_definitions()

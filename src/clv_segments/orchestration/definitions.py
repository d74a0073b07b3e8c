"""The Dagster definitions: three assets, one job, one daily schedule, one resource.

- ``published_warehouse`` (group ``warehouse``): the main job, ``clv_segments.runs.run_pipeline``
  (what ``clv-segments run`` does): build a candidate, audit it, publish it atomically;
- ``clv_dashboard`` and ``activation_exports`` (group ``activation``), after it, reading only
  the published file.

``clv_refresh`` materialises all three, every day at 06:00 UTC. One job is enough: every run
builds a complete candidate (the CLV fit included; it takes seconds on cells), so the former
weekly-with-the-fit / daily-without-it split has nothing left to save, and a candidate built
without the fit could not be audited as a whole. Two runs never write the warehouse at once:
the job is the only writer, and ``run_pipeline`` holds a lock beside the file (a second run
fails with "another clv-segments run holds ...").

Locations come from the environment, as for the rest of the project: CLV_DUCKDB_PATH (the
published warehouse file), CLV_ARTIFACTS_DIR (default artifacts/: dashboard, exports, Data
Docs), CLV_DBT_VARS (a YAML mapping passed to dbt --vars, e.g. "{raw_data_path: data/raw}"),
CLV_DBT_TARGET_PATH (default <project>/target) and CLV_DBT_PROJECT_DIR (default: the folder
holding this package's src/).
Loading the definitions runs nothing: no dbt parse, no warehouse access.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from clv_segments.orchestration.assets import ClvWarehouse, build_assets

__all__ = [
    "DAILY_CRON",
    "JOB_NAME",
    "PROJECT_DIR",
    "SCHEDULE_NAME",
    "build_definitions",
    "defs",
]

PROJECT_DIR = Path(os.environ.get("CLV_DBT_PROJECT_DIR") or Path(__file__).resolve().parents[3])
JOB_NAME = "clv_refresh"
SCHEDULE_NAME = "clv_refresh_daily"
DAILY_CRON = "0 6 * * *"  # every day 06:00
TIMEZONE = "UTC"


def _path(value: str | Path | None, variable: str, default: str, base: Path) -> str:
    chosen = value or os.environ.get(variable) or base / default
    path = Path(chosen)
    return str(path if path.is_absolute() else base / path)


def build_definitions(
    project_dir: str | Path = PROJECT_DIR,
    target_path: str | Path | None = None,
    database_path: str | Path | None = None,
    artifacts_dir: str | Path | None = None,
    dbt_vars: str | None = None,
) -> dg.Definitions:
    """All definitions for one dbt project; arguments override the environment (tests)."""
    project = Path(project_dir).resolve()
    job = dg.define_asset_job(
        JOB_NAME,
        selection=dg.AssetSelection.all(),
        description=(
            "Write, audit, publish (clv-segments run), then the dashboard and the exports from "
            "the published warehouse. A failed audit stops here and changes nothing."
        ),
    )
    schedule = dg.ScheduleDefinition(
        name=SCHEDULE_NAME, job=job, cron_schedule=DAILY_CRON, execution_timezone=TIMEZONE
    )
    warehouse = ClvWarehouse(
        database_path=_path(database_path, "CLV_DUCKDB_PATH", "data/clv_segments.duckdb", project),
        project_dir=str(project),
        target_path=_path(target_path, "CLV_DBT_TARGET_PATH", "target", project),
        artifacts_dir=_path(artifacts_dir, "CLV_ARTIFACTS_DIR", "artifacts", project),
        dbt_vars=dbt_vars if dbt_vars is not None else os.environ.get("CLV_DBT_VARS", ""),
    )
    return dg.Definitions(
        assets=build_assets(),
        jobs=[job],
        schedules=[schedule],
        resources={"clv": warehouse},
    )


@dg.definitions
def defs() -> dg.Definitions:
    """The code location ``dagster dev`` loads (workspace.yaml)."""
    return build_definitions()

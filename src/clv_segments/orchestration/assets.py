"""Dagster assets: the published warehouse (the main job, ``clv-segments run``), then the CLV
dashboard and the activation exports, which read only what was published.

``published_warehouse`` calls ``clv_segments.runs.run_pipeline``: a candidate file is built
(dbt build), audited (dbt tests of severity error, the Great Expectations suite, the circuit
breakers) and renamed over the warehouse file only when everything passes. When the audit fails,
or the configuration is wrong, or another run holds the warehouse, the asset fails with the run's
report as its description: nothing downstream runs and the published file is untouched.

The dbt models are not Dagster assets one by one (dagster-dbt): materialising models one at a
time into the warehouse readers use is exactly what write-audit-publish forbids, and a candidate
is built and audited whole. The run's report (``runs/<run_id>/report.json`` beside the warehouse)
and dbt's ``run_results.json`` hold the per-model and per-test detail.

No ``from __future__ import annotations`` here: Dagster reads the annotations of the asset
functions (config, resources) at definition time.
"""

from dataclasses import asdict
from pathlib import Path
from typing import Any

import dagster as dg

from clv_segments.activation.exports import export_activation
from clv_segments.dashboard import write_dashboard
from clv_segments.preflight import ConfigurationError
from clv_segments.project_settings import parse_vars_option
from clv_segments.runs import (
    RunOptions,
    RunOutcome,
    WarehouseLocked,
    format_outcome,
    redact,
    run_pipeline,
)

__all__ = [
    "ACTIVATION_GROUP",
    "WAREHOUSE_GROUP",
    "ClvWarehouse",
    "PublishConfig",
    "activation_exports",
    "build_assets",
    "clv_dashboard",
    "published_warehouse",
]

WAREHOUSE_GROUP = "warehouse"
ACTIVATION_GROUP = "activation"


class ClvWarehouse(dg.ConfigurableResource):
    """Where a run builds and publishes, with which dbt project and vars.

    ``database_path`` is the published warehouse file (readers and BI tools open it); runs build
    a candidate beside it. ``dbt_vars`` is a YAML or JSON mapping passed to dbt ``--vars``
    (empty: the project's defaults, as_of_date = today).
    """

    database_path: str
    project_dir: str
    target_path: str
    artifacts_dir: str
    dbt_vars: str = ""

    def run_options(self, accept: list[str]) -> RunOptions:
        return RunOptions(
            database=Path(self.database_path),
            project_dir=Path(self.project_dir),
            dbt_vars=parse_vars_option(self.dbt_vars),
            accept=list(accept),
            target_path=Path(self.target_path),
            data_docs_dir=Path(self.artifacts_dir, "data_docs"),
        )


class PublishConfig(dg.Config):
    """Run configuration of ``published_warehouse`` (the launchpad): breaches to accept."""

    accept: list[str] = []
    """Circuit breakers to publish despite, 'check' or 'check:subject' (as --accept); the
    acceptance is recorded in history.run_log."""


def _failed_checks(outcome: RunOutcome) -> list[dict[str, Any]]:
    return [asdict(failure) for failure in outcome.failures]


@dg.asset(
    name="published_warehouse",
    group_name=WAREHOUSE_GROUP,
    kinds={"duckdb", "dbt"},
    description=(
        "The published warehouse: `clv-segments run` builds a candidate, audits it (dbt tests, "
        "the Great Expectations suite, circuit breakers) and publishes it with one atomic "
        "rename only if everything passes. Fails, changing nothing, when the audit fails."
    ),
)
def published_warehouse(
    context: dg.AssetExecutionContext, config: PublishConfig, clv: ClvWarehouse
) -> dg.MaterializeResult:
    options = clv.run_options(config.accept)
    try:
        outcome = run_pipeline(options, context.log.info)
    except (ConfigurationError, WarehouseLocked) as exc:
        kind = "configuration error" if isinstance(exc, ConfigurationError) else "refused"
        raise dg.Failure(
            description=f"{kind}, nothing was built: {redact(str(exc))}",
            metadata={"database": dg.MetadataValue.path(clv.database_path)},
            allow_retries=False,
        ) from None
    report = format_outcome(outcome)
    context.log.info(report)
    metadata: dict[str, Any] = {
        "run_id": outcome.run_id,
        "as_of_date": outcome.as_of_date,
        "stage": outcome.stage,
        "database": dg.MetadataValue.path(outcome.database),
        "report": dg.MetadataValue.path(outcome.report_path or ""),
        "rejected_rows": dg.MetadataValue.json(outcome.rejected_rows),
        "accepted_breaches": dg.MetadataValue.json(outcome.accepted),
        "seconds": dg.MetadataValue.json({k: round(v, 1) for k, v in outcome.seconds.items()}),
    }
    if not outcome.published:
        raise dg.Failure(
            description=report,
            metadata={
                **metadata,
                "failed_checks": dg.MetadataValue.json(_failed_checks(outcome)),
                "candidate": dg.MetadataValue.path(outcome.candidate),
            },
            allow_retries=False,
        )
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(
    name="clv_dashboard",
    deps=[published_warehouse],
    group_name=ACTIVATION_GROUP,
    kinds={"html"},
    description="Klaviyo's CLV dashboard as one offline HTML page, from the published warehouse.",
)
def clv_dashboard(context: dg.AssetExecutionContext, clv: ClvWarehouse) -> dg.MaterializeResult:
    result = write_dashboard(
        clv.database_path,
        Path(clv.artifacts_dir, "dashboard", "index.html"),
        Path(clv.target_path, "manifest.json"),
    )
    for card, why in result.missing.items():
        context.log.warning(f"dashboard card {card}: {why}")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(result.path)),
            "empty_cards": dg.MetadataValue.json(dict(result.missing)),
        }
    )


@dg.asset(
    name="activation_exports",
    deps=[published_warehouse],
    group_name=ACTIVATION_GROUP,
    kinds={"csv"},
    description=(
        "One CSV per segment (emailable members) and profile_properties.csv, with Klaviyo's "
        "property names, from the published warehouse; breached segments are skipped, segments "
        "whose guardrails cannot be checked yet are written and marked unchecked."
    ),
)
def activation_exports(
    context: dg.AssetExecutionContext, clv: ClvWarehouse
) -> dg.MaterializeResult:
    result = export_activation(
        clv.database_path, Path(clv.artifacts_dir, "exports"), progress=context.log.info
    )
    for skipped in result.skipped:
        context.log.warning(
            f"segment {skipped.segment_name} not exported: {skipped.breached_guardrails}"
        )
    if result.unchecked:
        context.log.warning(
            f"{len(result.unchecked)} segment(s) exported with email guardrails not checked: "
            f"{result.unchecked[0].guardrails_unchecked_reason}"
        )
    return dg.MaterializeResult(
        metadata={
            "manifest": dg.MetadataValue.path(result.manifest_path),
            "segments_written": len(result.segments) - len(result.skipped),
            "segments_skipped": dg.MetadataValue.json([s.segment_name for s in result.skipped]),
            "segments_unchecked": dg.MetadataValue.json([s.segment_name for s in result.unchecked]),
            "guardrails_checked": result.guardrails_checked,
            "profile_rows": result.profile_properties.get("rows_written", 0),
            "segments_built": result.segments_built,
        }
    )


def build_assets() -> list[dg.AssetsDefinition]:
    """The three assets, in dependency order."""
    return [published_warehouse, clv_dashboard, activation_exports]

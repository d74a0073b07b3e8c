"""Dagster assets: every dbt model, seed and snapshot (dagster-dbt; dbt tests become asset
checks), then the data quality suite, the CLV dashboard and the activation exports.

A dbt test of severity error fails the dbt step, so nothing downstream runs on a broken build;
a failed data quality suite likewise stops the dashboard and the exports. The validation asset
exists only when ``clv_segments.validation.run_validation`` does (the Great Expectations suite);
without it the dashboard and exports follow the dbt marts directly, and a warning says so.
"""

import importlib
import inspect
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
import yaml
from dagster import AssetExecutionContext
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets, get_asset_key_for_model

from clv_segments.dashboard import write_dashboard
from clv_segments.exports import export_activation

__all__ = [
    "ACTIVATION_GROUP",
    "CLV_FIT_MODEL",
    "MART_MODELS",
    "ClvWarehouse",
    "build_assets",
    "find_run_validation",
    "mart_asset_keys",
]

MART_MODELS = (
    "customer_predictions",
    "clv_model_diagnostics",
    "clv_model_parameters",
    "customer_segments",
    "segment_summary",
    "customer_personas",
    "customer_tiers",
    "segment_email_health",
)
"""The public marts the Python assets read (the ones present in the manifest become deps)."""
CLV_FIT_MODEL = "clv_model_fit"
"""The dbt Python model that fits BG/NBD and Gamma-Gamma: weekly only (scoring reuses it)."""
ACTIVATION_GROUP = "activation"
QUALITY_GROUP = "data_quality"


class ClvWarehouse(dg.ConfigurableResource):
    """The warehouse file and artifact locations of a run, and the dbt vars it passes.

    dbt finds the warehouse through profiles.yml (env CLV_DUCKDB_PATH); database_path must be
    the same file (definitions.py sets both from one place).
    """

    database_path: str
    artifacts_dir: str
    backtest_path: str
    manifest_path: str
    dbt_vars: str = ""  # YAML or JSON mapping passed to dbt --vars; empty: the project defaults


def find_run_validation() -> Callable[..., Any] | None:
    """``clv_segments.validation.run_validation`` when that module exists, else None."""
    try:
        module = importlib.import_module("clv_segments.validation")
    except ModuleNotFoundError as exc:
        if exc.name == "clv_segments.validation":
            return None
        raise
    return getattr(module, "run_validation", None)


def _dbt_models_in_manifest(manifest_path: Path) -> set[str]:
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    return {node["name"] for node in manifest["nodes"].values() if node["resource_type"] == "model"}


def mart_asset_keys(dbt_project_assets: dg.AssetsDefinition, models: set[str]) -> list[dg.AssetKey]:
    """Asset keys of the MART_MODELS that the dbt project has."""
    return [
        get_asset_key_for_model([dbt_project_assets], name)
        for name in MART_MODELS
        if name in models
    ]


def _validation_succeeded(result: Any) -> bool | None:
    """The success flag of run_validation's result (attribute or key), None if it has none."""
    if isinstance(result, bool):
        return result
    if isinstance(result, Mapping) and "success" in result:
        return bool(result["success"])
    success = getattr(result, "success", None)
    return None if success is None else bool(success)


def _validation_metadata(result: Any) -> dict[str, Any]:
    """What a ValidationReport-like result says: checks, failures and the Data Docs page."""
    metadata: dict[str, Any] = {"success": bool(_validation_succeeded(result))}
    results = getattr(result, "results", None)
    if results is not None:
        metadata["checks"] = len(results)
    failures = getattr(result, "failures", None)
    if failures is not None:
        metadata["failures"] = dg.MetadataValue.json(
            [f"{getattr(f, 'mart', '')}: {getattr(f, 'name', f)}" for f in failures][:50]
        )
    docs = getattr(result, "data_docs_index", None)
    if docs:
        metadata["data_docs"] = dg.MetadataValue.path(str(docs))
    return metadata


def _validation_kwargs(
    run_validation: Callable[..., Any], project: DbtProject, clv: ClvWarehouse
) -> dict[str, Any]:
    """The keyword arguments run_validation accepts among the ones this job knows."""
    known = {
        "project_dir": str(project.project_dir),
        "data_docs_dir": str(Path(clv.artifacts_dir, "data_docs")),
        "dbt_vars": yaml.safe_load(clv.dbt_vars) if clv.dbt_vars else None,
    }
    accepted = inspect.signature(run_validation).parameters
    return {name: value for name, value in known.items() if name in accepted}


def build_assets(project: DbtProject) -> list[dg.AssetsDefinition]:
    """The dbt project's assets and, downstream, validation, dashboard and exports."""

    @dbt_assets(manifest=project.manifest_path, project=project, name="clv_dbt_project")
    def clv_dbt_project(context: AssetExecutionContext, dbt: DbtCliResource, clv: ClvWarehouse):
        """dbt build (seeds, models, snapshots, tests) of the selected nodes."""
        # profiles.yml reads the warehouse file from CLV_DUCKDB_PATH in dbt's environment,
        # a copy of this process's: point it at the resource's file so both write one file.
        os.environ["CLV_DUCKDB_PATH"] = clv.database_path
        args = ["build"]
        if clv.dbt_vars:
            args += ["--vars", clv.dbt_vars]
        target = Path(project.project_dir, project.target_path, f"dagster-{context.run.run_id[:8]}")
        yield from dbt.cli(args, context=context, target_path=target).stream()

    models = _dbt_models_in_manifest(project.manifest_path)
    marts = mart_asset_keys(clv_dbt_project, models)
    assets: list[dg.AssetsDefinition] = [clv_dbt_project]

    run_validation = find_run_validation()
    if run_validation is not None:

        @dg.asset(
            name="data_quality_validation",
            deps=marts,
            group_name=QUALITY_GROUP,
            kinds={"great_expectations"},
            description="The Great Expectations suite on the marts, with its Data Docs.",
        )
        def data_quality_validation(
            context: AssetExecutionContext, clv: ClvWarehouse
        ) -> dg.MaterializeResult:
            result = run_validation(
                clv.database_path, **_validation_kwargs(run_validation, project, clv)
            )
            metadata = _validation_metadata(result)
            if _validation_succeeded(result) is False:
                raise dg.Failure(
                    description="the data quality suite failed: no dashboard or export",
                    metadata=metadata,
                )
            return dg.MaterializeResult(metadata=metadata)

        assets.append(data_quality_validation)
        upstream: Sequence[dg.AssetKey] = [data_quality_validation.key]
    else:
        upstream = marts

    @dg.asset(
        name="clv_dashboard",
        deps=upstream,
        group_name=ACTIVATION_GROUP,
        kinds={"html"},
        description="Klaviyo's CLV dashboard as one offline HTML page (clv-segments dashboard).",
    )
    def clv_dashboard(context: AssetExecutionContext, clv: ClvWarehouse) -> dg.MaterializeResult:
        if run_validation is None:
            context.log.warning(
                "data quality suite not wired: clv_segments.validation.run_validation not found"
            )
        result = write_dashboard(
            clv.database_path,
            Path(clv.artifacts_dir, "dashboard", "index.html"),
            clv.manifest_path,
            clv.backtest_path,
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
        deps=upstream,
        group_name=ACTIVATION_GROUP,
        kinds={"csv"},
        description=(
            "One CSV per segment (emailable members) and profile_properties.csv, with Klaviyo's "
            "property names (clv-segments export); breached segments are skipped."
        ),
    )
    def activation_exports(
        context: AssetExecutionContext, clv: ClvWarehouse
    ) -> dg.MaterializeResult:
        result = export_activation(
            clv.database_path, Path(clv.artifacts_dir, "exports"), progress=context.log.info
        )
        for skipped in result.skipped:
            context.log.warning(
                f"segment {skipped.segment_name} not exported: {skipped.breached_guardrails}"
            )
        return dg.MaterializeResult(
            metadata={
                "manifest": dg.MetadataValue.path(result.manifest_path),
                "segments_written": len(result.segments) - len(result.skipped),
                "segments_skipped": dg.MetadataValue.json([s.segment_name for s in result.skipped]),
                "profile_rows": result.profile_properties.get("rows_written", 0),
                "segments_built": result.segments_built,
            }
        )

    return [*assets, clv_dashboard, activation_exports]

"""dbt docs: `dbt docs generate` works on the demo build, every public mart and each of its
columns (as built in the warehouse) has a description, every macro of the project and each of its
arguments is described beside it, every seed and seed column is described, the marts are public
(and only they), and the exposures declare the dashboard and the exports with the marts they
read."""

from __future__ import annotations

import json
import posixpath
import shutil

import jinja2
import jinja2.nodes
import pytest

from dbt_harness import run_dbt

DEMO_AS_OF_DATE = "2026-11-20"  # the demo build's (conftest.py)
PACKAGE = "clv_segments"


@pytest.fixture(scope="module")
def docs(demo_build, demo_raw, tmp_path_factory):
    """dbt docs generate on a copy of the demo warehouse; returns (manifest, catalog, target)."""
    workdir = tmp_path_factory.mktemp("docs")
    database = workdir / "warehouse.duckdb"
    shutil.copyfile(demo_build.database, database)
    result = run_dbt(
        ["docs", "generate"],
        workdir,
        {"raw_data_path": str(demo_raw), "as_of_date": DEMO_AS_OF_DATE},
        database=database,
    )
    manifest = json.loads((result.target_dir / "manifest.json").read_text())
    catalog = json.loads((result.target_dir / "catalog.json").read_text())
    return manifest, catalog, result.target_dir


def _marts(manifest: dict) -> dict[str, dict]:
    return {
        node_id: node
        for node_id, node in manifest["nodes"].items()
        if node["resource_type"] == "model"
        and node["original_file_path"].startswith("models/marts/")
    }


def test_docs_site_is_written(docs):
    _, catalog, target = docs
    assert (target / "index.html").stat().st_size > 0
    assert catalog["errors"] is None


def test_every_mart_is_described(docs):
    manifest, _, _ = docs
    marts = _marts(manifest)
    assert "model.clv_segments.customer_predictions" in marts
    undescribed = sorted(node["name"] for node in marts.values() if not node["description"].strip())
    assert undescribed == []


def _undescribed_built_columns(node_id: str, node: dict, catalog: dict) -> list[str]:
    """`<name>.<column>` for each column of the built relation that its YAML does not describe."""
    built = catalog["nodes"].get(node_id)
    assert built is not None, f"{node['name']} is not in the warehouse catalog"
    described = {
        name.lower() for name, column in node["columns"].items() if column["description"].strip()
    }
    return [
        f"{node['name']}.{column}" for column in built["columns"] if column.lower() not in described
    ]


def test_every_built_mart_column_is_described(docs):
    manifest, catalog, _ = docs
    missing = []
    for node_id, node in _marts(manifest).items():
        missing += _undescribed_built_columns(node_id, node, catalog)
    assert not missing, "columns without a description: " + ", ".join(sorted(missing))


def test_marts_and_history_carry_their_descriptions_in_the_warehouse(docs):
    """What readers read (marts, history) is described in the warehouse's own catalog, for a BI
    tool or SQL client (persist_docs); the layers they do not read are described in dbt docs."""
    manifest, catalog, _ = docs
    for name, schema in [("customer_predictions", "marts"), ("run_log", "history")]:
        node_id = f"model.clv_segments.{name}"
        node, built = manifest["nodes"][node_id], catalog["nodes"][node_id]
        assert built["metadata"]["schema"] == schema
        assert built["metadata"]["comment"] == node["description"]
        for column, described in node["columns"].items():
            assert built["columns"][column]["comment"] == described["description"], column
    intermediate = catalog["nodes"]["model.clv_segments.int_orders_netted"]
    assert intermediate["metadata"]["comment"] is None
    assert {column["comment"] for column in intermediate["columns"].values()} == {None}


def test_exposures_declare_the_dashboard_and_the_exports(docs):
    manifest, _, _ = docs
    exposures = {e["name"]: e for e in manifest["exposures"].values()}
    assert set(exposures) >= {"clv_dashboard", "activation_exports"}
    dashboard = {n.split(".")[-1] for n in exposures["clv_dashboard"]["depends_on"]["nodes"]}
    exports = {n.split(".")[-1] for n in exposures["activation_exports"]["depends_on"]["nodes"]}
    assert {"customer_predictions", "clv_model_diagnostics", "segment_summary"} <= dashboard
    assert {"customer_profile_properties", "customer_segments", "segment_email_health"} <= exports
    # the exports read the marts only
    assert not {node for node in exports if node.startswith(("stg_", "int_", "base_"))}
    assert exposures["clv_dashboard"]["type"] == "dashboard"
    for exposure in exposures.values():
        assert exposure["description"].strip() and exposure["owner"]["name"]
        assert exposure["config"]["meta"]["clv_attributes_used"]


def _signature(macro_sql: str) -> list[str]:
    """The argument names of a `{% macro name(...) %}` or `{% test name(...) %}` block, read by
    Jinja's own parser from the block's opening tag."""
    opening = macro_sql[: macro_sql.index("%}") + 2]
    opening = opening.replace("{%-", "{%").replace("-%}", "%}").replace("{% test ", "{% macro ", 1)
    template = jinja2.Environment().parse(opening + "{% endmacro %}")
    (macro,) = list(template.find_all(jinja2.nodes.Macro))
    return [argument.name for argument in macro.args]


def test_every_macro_and_argument_is_described_beside_it(docs):
    manifest, _, _ = docs
    macros = [m for m in manifest["macros"].values() if m["package_name"] == PACKAGE]
    assert any(m["name"] == "test_expect_column_values_to_be_between" for m in macros)
    problems = []
    for macro in sorted(macros, key=lambda m: m["original_file_path"]):
        where = f"{macro['name']} ({macro['original_file_path']})"
        if not macro["description"].strip():
            problems.append(f"{where}: no description")
            continue
        folder = posixpath.dirname(macro["original_file_path"])
        properties = macro["patch_path"].split("://")[-1]
        if posixpath.dirname(properties) != folder:
            problems.append(f"{where}: described in {properties}, not in a YAML of {folder}/")
        documented = [argument["name"] for argument in macro["arguments"]]
        if documented != _signature(macro["macro_sql"]):
            problems.append(
                f"{where}: arguments documented {documented}, "
                f"signature {_signature(macro['macro_sql'])}"
            )
        problems += [
            f"{where}: argument {argument['name']} has no description or type"
            for argument in macro["arguments"]
            if not (argument.get("description") or "").strip()
            or not (argument.get("type") or "").strip()
        ]
    assert not problems, "macros not fully described:\n  " + "\n  ".join(problems)


def test_every_seed_and_seed_column_is_described(docs):
    manifest, catalog, _ = docs
    seeds = {
        node_id: node
        for node_id, node in manifest["nodes"].items()
        if node["resource_type"] == "seed" and node["package_name"] == PACKAGE
    }
    assert {"fx_rates", "event_types", "rejection_reasons"} <= {s["name"] for s in seeds.values()}
    missing = []
    for node_id, node in seeds.items():
        if not node["description"].strip():
            missing.append(node["name"])
        missing += _undescribed_built_columns(node_id, node, catalog)
    assert not missing, "seeds or seed columns without a description: " + ", ".join(sorted(missing))


def test_the_marts_and_only_the_marts_are_public(docs):
    manifest, _, _ = docs
    marts = _marts(manifest)
    assert sorted(n["name"] for n in marts.values() if n["access"] != "public") == []
    # staging, intermediate and history stay protected (DECISIONLOG "Marts are public; ...")
    others = [
        node["name"]
        for node_id, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node_id not in marts and node["access"] == "public"
    ]
    assert others == []

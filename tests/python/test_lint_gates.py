"""The lint gates of `make lint` / `make test` can fail: sqlfluff's configuration flags the style
STYLE.md rules out, and dbt-bouncer (dbt-bouncer.yml) fails on a manifest with each kind of
problem it is there to catch. Without these a gate that silently checks nothing would pass."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

PROJECT_DIR = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

# every rule of STYLE.md "SQL" that sqlfluff checks, broken once
BAD_SQL = """\
WITH orders AS (select customer_id, amount from raw_orders)
select
    o.customer_id
    , sum(o.amount) total
    , count(*)
from orders o group by o.customer_id
"""


def _sqlfluff_codes(sql: str, tmp_path: Path) -> set[str]:
    """sqlfluff with the project's .sqlfluff, on the jinja templater (no dbt compile needed)."""
    config = tmp_path / ".sqlfluff"
    config.write_text(
        (PROJECT_DIR / ".sqlfluff").read_text().replace("templater = dbt", "templater = jinja")
    )
    proc = subprocess.run(
        [
            str(BIN / "sqlfluff"),
            "lint",
            "-",
            "--config",
            str(config),
            "--format",
            "json",
            "--nofail",
        ],
        input=sql,
        capture_output=True,
        text=True,
        check=True,
    )
    return {v["code"] for record in json.loads(proc.stdout) for v in record["violations"]}


def test_sqlfluff_config_flags_the_style_rules(tmp_path):
    codes = _sqlfluff_codes(BAD_SQL, tmp_path)
    # upper-case keywords, leading comma, implicit alias, unaliased expression, group by name
    assert {"CP01", "LT04", "AL02", "AL03", "AM06"} <= codes, codes


def test_sqlfluff_config_passes_house_style(tmp_path):
    good = (
        "with\n\norders as (\n    select\n        customer_id,\n        amount\n"
        "    from raw_orders\n),\n\nfinal as (\n    select\n        customer_id,\n"
        "        sum(amount) as total_amount\n    from orders\n    group by 1\n)\n\n"
        "select * from final\n"
    )
    assert _sqlfluff_codes(good, tmp_path) == set()


def test_sqlfluff_lints_the_models_and_tests():
    """.sqlfluffignore leaves the models and singular tests in (only macros, target, .venv out)."""
    ignored = [
        line.strip().rstrip("/")
        for line in (PROJECT_DIR / ".sqlfluffignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert not {"models", "tests", "tests/dbt"} & set(ignored), ignored
    makefile = (PROJECT_DIR / "Makefile").read_text()
    assert "SQL_PATHS   := models tests/dbt" in makefile


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> dict:
    """`dbt parse` of the project into a temporary target (nothing is built)."""
    target = tmp_path_factory.mktemp("bouncer") / "target"
    env = {**os.environ, "DBT_PROFILES_DIR": str(PROJECT_DIR), "CLV_DUCKDB_PATH": ":memory:"}
    subprocess.run(
        [
            str(BIN / "dbt"),
            "parse",
            "--quiet",
            "--target-path",
            str(target),
            "--log-path",
            str(target.parent / "logs"),
        ],
        cwd=PROJECT_DIR,
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    return json.loads((target / "manifest.json").read_text())


def _bouncer_failures(manifest: dict, workdir: Path) -> set[tuple[str, str]]:
    """Run dbt-bouncer with the project's config on `manifest`; the (check, resource) failures."""
    artifacts = workdir / "target"
    artifacts.mkdir(parents=True)
    (artifacts / "manifest.json").write_text(json.dumps(manifest))
    config = yaml.safe_load((PROJECT_DIR / "dbt-bouncer.yml").read_text())
    config["dbt_artifacts_dir"] = str(artifacts)
    config["custom_checks_dir"] = str(PROJECT_DIR / config["custom_checks_dir"])
    (workdir / "dbt-bouncer.yml").write_text(yaml.safe_dump(config))
    output = workdir / "results.json"
    proc = subprocess.run(
        [
            str(BIN / "dbt-bouncer"),
            "run",
            "--config-file",
            str(workdir / "dbt-bouncer.yml"),
            "--output-format",
            "json",
            "--output-file",
            str(output),
        ],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    results = json.loads(output.read_text())
    assert len(results) > 500, proc.stdout[-3000:]  # the checks ran over the project
    failures = {
        (r["check_run_id"].split(":")[0], r["unique_id"])
        for r in results
        if r["outcome"] != "success"
    }
    assert (proc.returncode != 0) == bool(failures), proc.stdout[-3000:]
    return failures


@pytest.mark.slow
def test_bouncer_passes_on_the_project(manifest, tmp_path):
    assert _bouncer_failures(manifest, tmp_path) == set()


@pytest.mark.slow
def test_bouncer_fails_on_each_kind_of_problem(manifest, tmp_path):
    broken = copy.deepcopy(manifest)
    nodes, sources = broken["nodes"], broken["sources"]
    model = "model.clv_segments."
    # naming: an intermediate model without its int_ prefix
    nodes[model + "int_clv_model_chosen"]["name"] = "clv_model_chosen"
    # documentation: a model, a column, a macro without a description
    nodes[model + "stg_shop__customers"]["description"] = ""
    nodes[model + "stg_shop__refunds"]["columns"]["refund_id"]["description"] = ""
    broken["macros"]["macro.clv_segments.as_of_date"]["description"] = ""
    # YAML naming: a mart described in a file not named after its folder
    nodes[model + "customer_tiers"]["patch_path"] = "clv_segments://models/marts/schema.yml"
    # primary keys: a model without its uniqueness test, a unique column without not_null
    for unique_id in [
        uid
        for uid, node in nodes.items()
        if node.get("attached_node") == model + "customer_predictions"
        and node["test_metadata"]["name"]
        in ("primary_key", "unique", "expect_compound_columns_to_be_unique")
    ] + [
        uid
        for uid, node in nodes.items()
        if node.get("attached_node") == model + "stg_shop__suppressions"
    ]:
        del nodes[unique_id]
    for node in nodes.values():  # its key tested unique only: the primary_key made a unique test
        if (
            node.get("attached_node") == model + "stg_shop__customers"
            and node["test_metadata"]["name"] == "primary_key"
        ):
            node["test_metadata"]["name"] = "unique"
    # sources: a raw table without freshness
    customers = sources["source.clv_segments.shop.customers"]
    customers["freshness"] = customers["config"]["freshness"] = None

    failures = _bouncer_failures(broken, tmp_path)
    expected = {
        ("check_model_names", model + "int_clv_model_chosen"),
        ("check_model_description_populated", model + "stg_shop__customers"),
        ("check_model_column_description_populated", model + "stg_shop__refunds"),
        ("check_macro_description_populated", "macro.clv_segments.as_of_date"),
        ("check_model_properties_file_named_after_folder", model + "customer_tiers"),
        ("check_model_has_unique_test", model + "customer_predictions"),
        ("check_model_test_coverage", None),
        ("check_model_unique_columns_are_not_null", model + "stg_shop__customers"),
        ("check_source_freshness_populated", "source.clv_segments.shop.customers"),
    }
    missing = {
        (check, uid)
        for check, uid in expected
        if (check, uid) not in failures
        and not (uid is None and any(c == check for c, _ in failures))
    }
    assert not missing, f"dbt-bouncer did not catch: {missing}; it reported {sorted(failures)}"

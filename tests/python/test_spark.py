"""The project on Apache Spark (dbt-spark, session method, plain parquet tables) gives the same
public marts as DuckDB, and an incremental Spark run equals a full refresh.

Every Spark build runs in this process through `clv_segments.spark_python.run_dbt` (what
`clv-segments dbt` runs), so the whole module shares one local JVM and one warehouse folder; the
DuckDB builds of the same raw files run as in the other tests (`dbt_harness.run_dbt`). Compared
for each public mart (models/marts, access public): row counts, money (decimal with 2 places) to
the cent, other numbers within 1e-9 relative, everything else equal.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from conftest import BAD_INPUT, BAD_INPUT_AS_OF_DATE

from dbt_harness import NO_CONSOLE_LOG, PROJECT_DIR, run_dbt

pytestmark = pytest.mark.slow

pyspark = pytest.importorskip("pyspark")

SHOP_CUSTOMERS = 2_000
SPARK_TEST_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=512m"
AS_OF_DATE = "2026-11-20"
DAY_MODELS = {
    "int_orders_aggregated_to_customer_days": ["customer_id", "ordered_date"],
    "int_events_aggregated_to_customer_days": ["customer_id", "occurred_date", "event_type"],
}


@pytest.fixture(scope="module")
def spark_env(tmp_path_factory):
    """The environment of the in-process Spark builds: one warehouse folder and metastore for
    the module (the JVM is started once, by the first build, with these settings)."""
    from clv_segments.spark_python import run_dbt as run_clv_dbt

    folder = tmp_path_factory.mktemp("spark")
    saved = dict(os.environ)
    os.environ.update(
        {
            "CLV_SPARK_DIR": str(folder / "spark"),
            "CLV_SPARK_DRIVER_MEMORY": "2g",
            "CLV_DBT_THREADS": "4",  # Spark's jobs are small here: dbt's per-node latency dominates
            # C1 only, with room for its code: in these builds the JVM spent more CPU compiling
            # than running queries (DECISIONLOG "Spark: the tests' JVM compiles with C1 only")
            "CLV_SPARK_JAVA_OPTIONS": SPARK_TEST_JAVA_OPTIONS,
            "DBT_PROFILES_DIR": str(PROJECT_DIR),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }
    )

    def build(args: list[str], dbt_vars: dict, name: str, expected_code: int = 0) -> Path:
        target = folder / name
        code = run_clv_dbt(
            [
                *args,
                "--target",
                "spark",
                "--project-dir",
                str(PROJECT_DIR),
                "--target-path",
                str(target / "target"),
                "--log-path",
                str(target / "logs"),
                "--vars",
                json.dumps(dbt_vars),
                # nothing on the console: the assertions read exit codes and run_results.json,
                # and a failure points at the debug log in the target's logs folder
                *NO_CONSOLE_LOG,
            ]
        )
        assert code == expected_code, (
            f"dbt {' '.join(args)} --target spark: exit code {code}, not {expected_code}"
            f" (logs in {target})"
        )
        return target

    yield build
    from pyspark.sql import SparkSession

    SparkSession.builder.getOrCreate().stop()
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="module")
def shop_raw(tmp_path_factory) -> Path:
    raw = tmp_path_factory.mktemp("spark_shop") / "raw"
    subprocess.run(
        [
            str(Path(sys.executable).with_name("clv-segments")),
            "generate",
            "--customers",
            str(SHOP_CUSTOMERS),
            "--as-of-date",
            AS_OF_DATE,
            "--out",
            str(raw),
        ],
        check=True,
        capture_output=True,
    )
    return raw


def _public_marts(manifest_dir: Path) -> list[tuple[str, str]]:
    manifest = json.loads((manifest_dir / "manifest.json").read_text())
    return sorted(
        (node["schema"], node["alias"])
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node.get("access") == "public"
        and node["original_file_path"].startswith("models/marts/")
    )


def _results_by_type(target: Path) -> dict[str, int]:
    """How many nodes of each resource type the run passed (run_results.json)."""
    results = json.loads((target / "run_results.json").read_text())["results"]
    passed = [r["unique_id"].split(".")[0] for r in results if r["status"] in ("pass", "success")]
    return {kind: passed.count(kind) for kind in set(passed)}


def _spark_frame(relation: str):
    """A Spark table as pandas, with the scale of each decimal column."""
    from pyspark.sql import SparkSession
    from pyspark.sql.types import DecimalType

    # the session dbt started in this process (getActiveSession is per thread: dbt's threads)
    table = SparkSession.builder.getOrCreate().table(relation)
    scales = {f.name: f.dataType.scale for f in table.schema if isinstance(f.dataType, DecimalType)}
    return table.toPandas(), scales


def _normalise(value):
    if value is None or (not isinstance(value, list | tuple | dict) and pd.isna(value) is True):
        return None  # None, NaN, NaT, pd.NA
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, str):
        return WALL_CLOCK_SECONDS.sub('"seconds": _', value)
    if hasattr(value, "tzinfo") and getattr(value, "tzinfo", None) is not None:
        value = value.replace(tzinfo=None)
    if isinstance(value, date) and not hasattr(value, "hour"):
        # DuckDB's .df() gives a date as a midnight timestamp, Spark's toPandas() as a date
        return f"{value.isoformat()} 00:00:00"
    if hasattr(value, "hour"):
        return value.isoformat(sep=" ")
    return value


def _sort_key(row: tuple) -> tuple:
    # floats to 6 significant digits, so that last-digit differences do not reorder rows
    return tuple(
        (0, "") if v is None else (1, f"{v:.6g}") if isinstance(v, float) else (1, str(v))
        for v in row
    )


# Wall-clock figures of the fits (seconds), which no two builds share, even on one engine
WALL_CLOCK_COLUMNS = {"fit_seconds"}
WALL_CLOCK_SECONDS = re.compile(r'"seconds": [0-9.]+')


def _compare(relation: str, duckdb_frame, spark_frame, money_scales: dict) -> list[str]:
    problems = []
    duckdb_frame = duckdb_frame.drop(columns=list(WALL_CLOCK_COLUMNS & set(duckdb_frame.columns)))
    spark_frame = spark_frame.drop(columns=list(WALL_CLOCK_COLUMNS & set(spark_frame.columns)))
    columns = list(duckdb_frame.columns)
    if sorted(columns) != sorted(spark_frame.columns):
        return [f"{relation}: columns differ: {sorted(columns)} vs {sorted(spark_frame.columns)}"]
    if len(duckdb_frame) != len(spark_frame):
        return [f"{relation}: {len(duckdb_frame)} rows on DuckDB, {len(spark_frame)} on Spark"]
    left = sorted(
        (tuple(_normalise(v) for v in row) for row in duckdb_frame[columns].itertuples(False)),
        key=_sort_key,
    )
    right = sorted(
        (tuple(_normalise(v) for v in row) for row in spark_frame[columns].itertuples(False)),
        key=_sort_key,
    )
    for a_row, b_row in zip(left, right, strict=True):
        for column, a, b in zip(columns, a_row, b_row, strict=True):
            if a is None or b is None:
                same = a is None and b is None
            elif money_scales.get(column) == 2:
                same = round(float(a) * 100) == round(float(b) * 100)
            elif (
                isinstance(a, float | int)
                and isinstance(b, float | int)
                and not (isinstance(a, bool) or isinstance(b, bool))
            ):
                same = math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
            else:
                same = a == b
            if not same:
                problems.append(f"{relation}.{column}: DuckDB {a!r} != Spark {b!r} (row {a_row})")
                break
        if len(problems) >= 5:
            break
    return problems


def _compare_every_public_mart(duckdb_build, spark_target: Path) -> None:
    marts = _public_marts(spark_target / "target")
    assert len(marts) >= 15, marts
    problems = []
    for schema, name in marts:
        relation = f"{schema}.{name}"
        spark_frame, scales = _spark_frame(relation)
        duckdb_frame = duckdb_build.frame(f"select * from {relation}")
        problems += _compare(relation, duckdb_frame, spark_frame, scales)
    assert not problems, "\n".join(problems)


def test_shop_marts_equal_duckdb_and_incremental_equals_full_refresh(spark_env, shop_raw, tmp_path):
    dbt_vars = {"raw_data_path": str(shop_raw), "as_of_date": AS_OF_DATE}
    # everything dbt build runs: seeds, models, snapshots, data tests and the dbt unit tests
    full = spark_env(["build"], dbt_vars, "shop")
    results = _results_by_type(full / "target")
    assert results["unit_test"] >= 45, results
    # every data test of the manifest ran and passed (the source tests may warn on the shop's
    # dirty raw rows, as on DuckDB)
    manifest = json.loads((full / "target" / "manifest.json").read_text())
    data_tests = {uid for uid in manifest["nodes"] if uid.startswith("test.")}
    statuses = {
        r["unique_id"]: r["status"]
        for r in json.loads((full / "target" / "run_results.json").read_text())["results"]
        if r["unique_id"].startswith("test.")
    }
    assert set(statuses) == data_tests and len(data_tests) > 150
    assert set(statuses.values()) <= {"pass", "warn"}, statuses
    # the profile passed CLV_SPARK_JAVA_OPTIONS to the JVM the build ran in
    from pyspark.sql import SparkSession

    runtime = SparkSession.builder.getOrCreate().sparkContext._jvm.java.lang.management
    arguments = list(runtime.ManagementFactory.getRuntimeMXBean().getInputArguments())
    assert set(SPARK_TEST_JAVA_OPTIONS.split()) <= set(arguments), arguments
    duckdb_build = run_dbt(["build"], tmp_path / "duckdb", dbt_vars)
    _compare_every_public_mart(duckdb_build, full)

    # the day models as a full refresh saw them, then loaded 50 days earlier and run again:
    # the incremental run must give the same tables (insert_overwrite of whole days)
    refreshed = {name: _spark_frame(f"intermediate.{name}")[0] for name in DAY_MODELS}
    earlier = (date.fromisoformat(AS_OF_DATE) - timedelta(days=50)).isoformat()
    select = ["--select", *(f"+{name}" for name in DAY_MODELS)]
    spark_env(["run", "--full-refresh", *select], {**dbt_vars, "as_of_date": earlier}, "earlier")
    assert all(
        _spark_frame(f"intermediate.{name}")[0][keys[1]].max() < date.fromisoformat(AS_OF_DATE)
        for name, keys in DAY_MODELS.items()
    )
    spark_env(["run", *select], dbt_vars, "incremental")
    for name, keys in DAY_MODELS.items():
        incremental = _spark_frame(f"intermediate.{name}")[0]
        columns = sorted(incremental.columns)
        assert sorted(refreshed[name].columns) == columns
        a = incremental[columns].sort_values(keys).reset_index(drop=True)
        b = refreshed[name][columns].sort_values(keys).reset_index(drop=True)
        assert len(a) == len(b), f"{name}: {len(a)} rows incremental, {len(b)} full refresh"
        assert a.equals(b), f"{name}: the incremental run differs from the full refresh"


def test_bad_input_marts_equal_duckdb(spark_env, bad_input_build, tmp_path):
    raw = tmp_path / "bad_input"
    shutil.copytree(BAD_INPUT, raw)
    dbt_vars = {"raw_data_path": str(raw), "as_of_date": BAD_INPUT_AS_OF_DATE}
    # models and seeds (contracts enforced); the data tests ran on the shop's build above. A full
    # refresh: the module's warehouse holds the shop's incremental day models, which an incremental
    # run would merge with the fixture's days (the DuckDB build starts from an empty file)
    spark_target = spark_env(
        ["build", "--full-refresh", "--exclude-resource-type", "unit_test", "test"],
        dbt_vars,
        "bad_input",
    )
    _compare_every_public_mart(bad_input_build, spark_target)

    # A null in a column whose contract says not_null fails the model on Spark too: parquet tables
    # cannot hold the constraint, so spark__persist_constraints counts the nulls after the write.
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    spark = SparkSession.builder.getOrCreate()
    upstream = spark.table("intermediate.int_customers_tiered")
    spark.createDataFrame(upstream.limit(1).collect(), upstream.schema).withColumn(
        "customer_id", F.lit(None).cast("string")
    ).write.insertInto("intermediate.int_customers_tiered")
    failed = spark_env(["run", "--select", "customer_tiers"], dbt_vars, "null", expected_code=1)
    results = json.loads((failed / "target" / "run_results.json").read_text())["results"]
    (result,) = [r for r in results if r["unique_id"] == "model.clv_segments.customer_tiers"]
    assert result["status"] == "error"
    assert "not_null constraint violated by customer_id (1 nulls)" in result["message"], result

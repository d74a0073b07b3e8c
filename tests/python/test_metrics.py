"""The metrics layer (models/marts/semantic): MetricFlow validates the semantic models and
metrics against the demo warehouse, and its answers equal what the marts say."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from dbt_harness import PROJECT_DIR

MF = Path(sys.executable).with_name("mf")


class MetricFlow:
    """`mf` against a copy of the demo warehouse. MetricFlow reads the semantic manifest at
    <project>/target/semantic_manifest.json: a folder with the project's dbt_project.yml,
    profiles.yml and the demo build's semantic manifest is all it needs."""

    def __init__(self, folder: Path, database: Path) -> None:
        self.folder = folder
        self.env = {**os.environ, "DBT_PROFILES_DIR": str(folder), "CLV_DUCKDB_PATH": str(database)}

    def __call__(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(MF), *args], cwd=self.folder, env=self.env, capture_output=True, text=True,
            timeout=600,
        )  # fmt: skip

    def query(self, metrics: list[str], group_by: str) -> list[dict[str, str]]:
        out = self.folder / f"{'_'.join(metrics)}_by_{group_by}.csv"
        result = self(
            "query", "--metrics", ",".join(metrics), "--group-by", group_by, "--csv", str(out)
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        with out.open(newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def mf(demo_build, tmp_path_factory) -> MetricFlow:
    folder = tmp_path_factory.mktemp("metricflow")
    (folder / "target").mkdir()
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copyfile(PROJECT_DIR / name, folder / name)
    shutil.copyfile(
        demo_build.target_dir / "semantic_manifest.json",
        folder / "target" / "semantic_manifest.json",
    )
    database = folder / "warehouse.duckdb"
    shutil.copyfile(demo_build.database, database)
    return MetricFlow(folder, database)


def test_metricflow_validates_the_semantic_layer(mf):
    result = mf("validate-configs")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Successfully validated the semantics" in result.stdout
    assert "Successfully validated metrics against data warehouse" in result.stdout
    assert "ERRORS: 0" in result.stdout and "ERRORS: 1" not in result.stdout


def _cents(value: str) -> Decimal:
    return Decimal(value or "0").quantize(Decimal("0.01"))


def test_metrics_by_clv_tier_equal_the_segment_summary(mf, demo_build):
    rows = mf.query(
        ["customers", "emailable_customers", "historic_clv", "predicted_clv"], "customer__clv_tier"
    )
    by_tier = {row["customer__clv_tier"]: row for row in rows if row["customer__clv_tier"]}
    summary = demo_build.query(
        "select segment_name, members, emailable_members, historic_clv_total, "
        "predicted_clv_total from marts.segment_summary where segment_kind = 'clv_tier'"
    )
    assert len(summary) == 4 and len(by_tier) == 4
    for segment_name, members, emailable, historic, predicted in summary:
        row = by_tier[segment_name.removeprefix("clv_")]
        assert int(row["customers"]) == members, segment_name
        assert int(row["emailable_customers"] or 0) == emailable, segment_name
        assert _cents(row["historic_clv"]) == historic, segment_name
        assert abs(_cents(row["predicted_clv"]) - predicted) <= Decimal("0.01"), segment_name


def test_segment_members_equal_the_segment_summary(mf, demo_build):
    rows = mf.query(
        ["segment_members", "emailable_segment_members"], "segment_membership__segment_name"
    )
    answered = {
        row["segment_membership__segment_name"]: (
            int(row["segment_members"] or 0),
            int(row["emailable_segment_members"] or 0),
        )
        for row in rows
    }
    summary = demo_build.query(
        "select segment_name, members, emailable_members from marts.segment_summary "
        "where members > 0"
    )
    assert len(summary) > 20
    assert answered == {name: (members, emailable) for name, members, emailable in summary}


def test_customers_by_persona_and_rfm_group_add_up_to_every_customer(mf, demo_build):
    (customers,) = demo_build.query("select count(*) from marts.customer_predictions")[0]
    personas = mf.query(["customers"], "customer__primary_persona")
    assert sum(int(row["customers"]) for row in personas) == customers
    assert {row["customer__primary_persona"] for row in personas} >= {"biggest_fans", "dead_weight"}
    revenue = mf.query(["revenue"], "customer__rfm_group")
    (historic,) = demo_build.query("select sum(historic_clv) from marts.customer_predictions")[0]
    assert sum(_cents(row["revenue"]) for row in revenue) == pytest.approx(historic, abs=0.05)

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import pytest
from filelock import FileLock

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dbt_harness import DbtResult, run_dbt  # noqa: E402

# DESIGN.md "Personas", in the table's order (the primary_persona order)
PERSONAS = [
    "biggest_fans",
    "brand_fans",
    "potential_fans",
    "potential_brand_lovers",
    "former_biggest_fans",
    "former_brand_fans",
    "fleeting_fans",
    "drive_by_customers",
    "espresso",
    "potentially_interested_buyers",
    "in_betweens",
    "skeptics",
    "false_starts",
    "dead_weight",
]
DEMO_CUSTOMERS = 20_000
DEMO_AS_OF_DATE = "2026-11-20"


def built_once(tmp_path_factory, name: str, build: Callable[[Path], dict]) -> dict:
    """``build(folder)`` once for the whole test session, whichever xdist worker asks first; the
    others wait on a file lock and read what it returned (a JSON-able dict) from ``folder``.
    What is built there is shared by every worker: read-only for tests (copy it to change it)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the workers' common base folder
    folder, record = root / f"shared_{name}", root / f"shared_{name}.json"
    with FileLock(str(root / f"shared_{name}.lock")):
        if not record.exists():
            folder.mkdir(parents=True, exist_ok=True)
            record.write_text(json.dumps(build(folder)), encoding="utf-8")
    return json.loads(record.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def demo_raw(tmp_path_factory) -> Path:
    """Demo raw files (20,000 customers, seed 42, as of 2026-11-20), generated once per test run."""

    def generate(folder: Path) -> dict:
        subprocess.run(
            [
                str(Path(sys.executable).with_name("clv-segments")),
                "generate",
                "--customers",
                str(DEMO_CUSTOMERS),
                "--as-of-date",
                DEMO_AS_OF_DATE,
                "--out",
                str(folder / "raw"),
            ],
            check=True,
            capture_output=True,
        )
        return {"raw": str(folder / "raw")}

    return Path(built_once(tmp_path_factory, "demo_raw", generate)["raw"])


@pytest.fixture(scope="session")
def demo_build(demo_raw, tmp_path_factory) -> DbtResult:
    """`dbt build` (models, seeds, snapshots, data tests) on the demo data, once per test run for
    every worker. Read-only for tests: a test that changes the warehouse works on a copy."""

    def build(folder: Path) -> dict:
        result = run_dbt(
            ["build"], folder, {"raw_data_path": str(demo_raw), "as_of_date": DEMO_AS_OF_DATE}
        )
        return {
            **asdict(result),
            "database": str(result.database),
            "target_dir": str(result.target_dir),
        }

    built = built_once(tmp_path_factory, "demo_build", build)
    return DbtResult(
        built["returncode"], built["output"], Path(built["database"]), Path(built["target_dir"])
    )


# Modules whose tests build the project on their own shops or drive dbt, Dagster or a browser;
# with every test that uses the shared demo build they are `slow`: `pytest -m "not slow"` is the
# inner loop (the CLV maths, the generator, the rendering, the docs: under two minutes).
SLOW_MODULES = {
    "test_bad_input",
    "test_bad_input_corpus",
    "test_clv_pipeline",
    "test_config_validation",
    "test_dbt_docs",
    "test_faults",
    "test_model_card",
    "test_orchestration",
    "test_robustness",
    "test_runs",
    "test_segment_catalog",
    "test_tier_intervals",
}
SLOW_FIXTURES = {"demo_raw", "demo_build"}


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        module = item.module.__name__ if item.module else ""
        if module in SLOW_MODULES or SLOW_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.slow)

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

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


@pytest.fixture(scope="session")
def demo_raw(tmp_path_factory) -> Path:
    """Demo raw files (20,000 customers, seed 42, as of 2026-11-20), generated once per session."""
    raw = tmp_path_factory.mktemp("demo") / "raw"
    subprocess.run(
        [
            str(Path(sys.executable).with_name("clv-segments")),
            "generate",
            "--customers",
            str(DEMO_CUSTOMERS),
            "--as-of-date",
            DEMO_AS_OF_DATE,
            "--out",
            str(raw),
        ],
        check=True,
        capture_output=True,
    )
    return raw


@pytest.fixture(scope="session")
def demo_build(demo_raw, tmp_path_factory) -> DbtResult:
    """`dbt build` (models, seeds, snapshots, data and unit tests) on the demo data, once per
    session. Read-only for tests: a test that changes the warehouse works on a copy."""
    return run_dbt(
        ["build"],
        tmp_path_factory.mktemp("demo_build"),
        {"raw_data_path": str(demo_raw), "as_of_date": DEMO_AS_OF_DATE},
    )

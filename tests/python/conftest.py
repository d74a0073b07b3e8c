from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from xdist.scheduler import LoadScopeScheduling

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dbt_harness import (  # noqa: E402
    FIXTURES_DIR,
    HARNESS_RUNS,
    DbtResult,
    built_once,
    built_once_result,
    run_dbt,
)

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
# The hand-written bad-input fixture (tests/fixtures/bad_input/README.md) and its clock
BAD_INPUT = FIXTURES_DIR / "bad_input"
BAD_INPUT_AS_OF_DATE = "2024-06-30"


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
    dbt_vars = {"raw_data_path": str(demo_raw), "as_of_date": DEMO_AS_OF_DATE}
    return _built_once_for_every_worker(tmp_path_factory, "demo_build", dbt_vars)


@pytest.fixture(scope="session")
def bad_input_build(tmp_path_factory) -> DbtResult:
    """`dbt build` on the bad-input fixture, once per test run for every worker (test_bad_input
    checks its rejections, test_spark compares Spark's marts with it). Read-only for tests."""
    dbt_vars = {"raw_data_path": str(BAD_INPUT), "as_of_date": BAD_INPUT_AS_OF_DATE}
    return _built_once_for_every_worker(tmp_path_factory, "bad_input_build", dbt_vars)


def _built_once_for_every_worker(tmp_path_factory, name: str, dbt_vars: dict) -> DbtResult:
    return built_once_result(
        tmp_path_factory, name, lambda folder: run_dbt(["build"], folder, dbt_vars)
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
    "test_source_freshness",
    "test_tier_intervals",
}
SLOW_FIXTURES = {"demo_raw", "demo_build", "bad_input_build"}

# `make test` runs `pytest -n 2`, scheduled by ModuleScheduling below: a module's tests stay on one
# worker (they share its module-scoped builds), except in these modules, whose tests each build
# their own warehouse (the faults' shared one is built once for both workers): their tests go to
# whichever worker is free, so no worker waits on one long module.
SPREAD_MODULES = {
    "test_bad_input_corpus",
    "test_config_validation",
    "test_faults",
    "test_robustness",
}
# Handed out first, in this order. test_spark, one test of 5 to 6 minutes, is the suite's longest
# unit: started last, it would finish alone while the other worker idles. test_faults next: the
# other worker builds its shared warehouse while test_spark runs (handed out last, after the
# single-test units xdist puts at the end, both workers reached it at once, and one waited about
# 48 s for the other's build).
LONG_MODULES = ("test_spark", "test_faults")


class ModuleScheduling(LoadScopeScheduling):
    """pytest-xdist's scope scheduling with a test module as the scope (each test of a
    SPREAD_MODULES module its own), LONG_MODULES handed out first. (xdist's `loadgroup` marks do
    nothing under pytest 9.2, which no longer reads the node id they rewrite: module fixtures were
    built on both workers.)"""

    def __init__(self, config, log=None) -> None:
        super().__init__(config, log)
        self._ordered = False

    @staticmethod
    def _path(nodeid: str) -> str:
        return nodeid.split("::", 1)[0]

    def _module(self, nodeid: str) -> str:
        return Path(self._path(nodeid)).stem

    def _split_scope(self, nodeid: str) -> str:
        return nodeid if self._module(nodeid) in SPREAD_MODULES else self._path(nodeid)

    def _assign_work_unit(self, node) -> None:
        if not self._ordered:  # the queue is in xdist's order the first time
            rank = {module: i for i, module in enumerate(LONG_MODULES)}
            for scope in sorted(self.workqueue, key=lambda s: rank.get(self._module(s), len(rank))):
                self.workqueue.move_to_end(scope)
            self._ordered = True
        super()._assign_work_unit(node)


def pytest_xdist_make_scheduler(config, log):
    return ModuleScheduling(config, log)


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        module = item.module.__name__ if item.module else ""
        if module in SLOW_MODULES or SLOW_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.slow)


# --- where the suite's time goes --------------------------------------------------------------
# At the end of every run: per test module, its tests' seconds (setup, call and teardown, summed
# over both workers, so a module's share of the suite) and the dbt / clv-segments runs they
# started through dbt_harness (a session-scoped build counts for the test that first asked).
# Other subprocesses (Spark's dbt, the browser, Dagster) are in the seconds, not in the runs.
_HARNESS_BEFORE = pytest.StashKey[tuple[int, float]]()
_MODULE_TOTALS: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0, 0.0])


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item) -> None:
    item.stash[_HARNESS_BEFORE] = (HARNESS_RUNS.count, HARNESS_RUNS.seconds)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if call.when == "teardown":
        count, seconds = item.stash.get(_HARNESS_BEFORE, (HARNESS_RUNS.count, HARNESS_RUNS.seconds))
        outcome.get_result().user_properties.append(
            ("harness_runs", [HARNESS_RUNS.count - count, HARNESS_RUNS.seconds - seconds])
        )


def pytest_runtest_logreport(report) -> None:
    totals = _MODULE_TOTALS[report.nodeid.split("::")[0]]
    totals[1] += report.duration
    if report.when == "teardown":
        totals[0] += 1
        for name, value in report.user_properties:
            if name == "harness_runs":
                totals[2] += value[0]
                totals[3] += value[1]


def pytest_terminal_summary(terminalreporter) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER") or not _MODULE_TOTALS:
        return
    rows = sorted(_MODULE_TOTALS.items(), key=lambda item: -item[1][1])
    terminalreporter.write_sep("=", "seconds per test module (summed over workers)")
    totals = [sum(column) for column in zip(*_MODULE_TOTALS.values(), strict=True)]
    header = f"{'seconds':>9} {'tests':>5} {'dbt runs':>8} {'their s':>8}  module"
    terminalreporter.write_line(header)
    for module, (tests, seconds, runs, run_seconds) in [*rows, ("all", totals)]:
        terminalreporter.write_line(
            f"{seconds:9.1f} {tests:5.0f} {runs:8.0f} {run_seconds:8.1f}  {module}"
        )

"""The suite's own scheduling (conftest.ModuleScheduling): a module's tests go to one xdist
worker together, so its module-scoped builds are made once; a SPREAD_MODULES test goes alone;
test_spark, the longest, is handed out first, then test_faults."""

from __future__ import annotations

from collections import OrderedDict

from conftest import ModuleScheduling

COLLECTION = [
    "tests/python/test_bad_input.py::test_rejections_are_exactly_the_expected_ones",
    "tests/python/test_bad_input.py::test_each_reason_code_is_produced[missing_key]",
    "tests/python/test_faults.py::test_damaged_input_is_not_published[orders_file_missing]",
    "tests/python/test_faults.py::test_a_second_concurrent_run_is_refused_and_a_reader_sees_one_version",
    "tests/python/test_spark.py::test_shop_marts_equal_duckdb_and_incremental_equals_full_refresh",
    "tests/python/test_spark.py::test_bad_input_marts_equal_duckdb",
]


class _Config:
    def getvalue(self, name: str):
        return {"tx": ["2*popen"]}[name]  # what `-n 2` sets


class _Worker:
    def __init__(self) -> None:
        self.sent: list[list[int]] = []

    def send_runtest_some(self, indexes: list[int]) -> None:
        self.sent.append(indexes)


def test_a_module_goes_to_one_worker_and_spark_then_faults_first():
    scheduling = ModuleScheduling(_Config())
    scopes = [scheduling._split_scope(nodeid) for nodeid in COLLECTION]
    assert scopes[:2] == ["tests/python/test_bad_input.py"] * 2
    assert scopes[2:4] == COLLECTION[2:4]  # test_faults is spread: each test its own unit
    assert scopes[4:] == ["tests/python/test_spark.py"] * 2

    worker = _Worker()
    scheduling.registered_collections[worker] = COLLECTION
    scheduling.workqueue = OrderedDict(
        (scope, {nodeid: False for nodeid, s in zip(COLLECTION, scopes, strict=True) if s == scope})
        for scope in dict.fromkeys(scopes)
    )
    for _ in range(4):
        scheduling._assign_work_unit(worker)
    assert worker.sent == [[4, 5], [2], [3], [0, 1]]

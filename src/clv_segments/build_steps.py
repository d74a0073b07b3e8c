"""The run's ``dbt build`` in two steps, in one process: ``python -m clv_segments.build_steps
<dbt flags>``, which `clv-segments run` starts in place of `dbt build` (runs.BUILD_STEPS_ARGS).

1. **The input**: staging and ``marts.input_circuit_breakers`` with the data tests of those nodes
   (INPUT_BUILD_ARGS). When that mart holds a breach the run was not told to accept, the process
   stops there with EXIT_INPUT_BREACH: nothing past staging is built from input that failed.
2. **The rest** (REST_BUILD_ARGS): the CLV fits, the segments, every other mart and their tests.

Together the two select every node of one `dbt build` once (tests/python/test_runs.py). The
project is parsed once for both steps: a second `dbt` process would spend about 7 s starting and
reading its saved parse before building anything (DECISIONLOG "The input is audited before the
rest is built"). Each step's run_results.json is kept beside the run's log
(``run_results_input.json``, ``run_results_rest.json``).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import duckdb

BUILD_ARGS = ("build", "--exclude-resource-type", "unit_test")
"""The run's ``dbt build``: models, seeds, snapshots and every data test. dbt unit tests check
the SQL against fixed inputs, not the day's data, so they run where the code changes (``make
test``, CI: ``dbt test --select test_type:unit``), not on every production run (dbt's own advice;
DECISIONLOG "Unit tests run in CI, not in production runs")."""

INPUT_AUDIT_MART = "input_circuit_breakers"
"""The circuit breakers on the raw input, audited before anything past staging is built."""

# the input's breakers and everything upstream, with the data tests of those nodes only
# ("buildable"); then the rest, with every test that reads a node of the rest. With dbt's default
# (eager) the second would drop the tests that also read a node of the first step
INPUT_BUILD_ARGS = (
    *BUILD_ARGS, "--select", f"+{INPUT_AUDIT_MART}", "--indirect-selection", "buildable"
)  # fmt: skip
REST_BUILD_ARGS = (
    *BUILD_ARGS, "--exclude", f"+{INPUT_AUDIT_MART}", "--indirect-selection", "buildable"
)  # fmt: skip

EXIT_INPUT_BREACH = 10
"""Exit code of the steps when the input's circuit breakers hold an unaccepted breach (dbt's own
codes are 0, 1 and 2)."""

Invoke = Callable[[Sequence[str]], int]


def unaccepted_input_breaches(candidate: Path) -> int:
    """How many breaches of marts.input_circuit_breakers the run was not told to accept."""
    with duckdb.connect(str(candidate), read_only=True) as con:
        (count,) = con.execute(
            f"select count(*) from marts.{INPUT_AUDIT_MART} where is_breach and not is_accepted"
        ).fetchone()
    return int(count)


def keep_run_results(target_path: Path, run_dir: Path, step: str) -> None:
    """dbt's run_results.json of one step, kept as ``run_dir/run_results_<step>.json`` (the
    next invocation replaces the target's): every node's status and timing, step by step."""
    results = target_path / "run_results.json"
    if results.is_file():
        run_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(results, run_dir / f"run_results_{step}.json")


def build_in_steps(invoke: Invoke, candidate: Path, target_path: Path, run_dir: Path) -> int:
    """The two steps through ``invoke`` (dbt arguments -> dbt's exit code, the database closed
    after each): 0 when both built, dbt's code when a step failed, EXIT_INPUT_BREACH when the
    input's breakers stopped the run after the first."""
    code = invoke(INPUT_BUILD_ARGS)
    keep_run_results(target_path, run_dir, "input")
    if code != 0:
        return code
    if unaccepted_input_breaches(candidate):
        return EXIT_INPUT_BREACH
    code = invoke(REST_BUILD_ARGS)
    keep_run_results(target_path, run_dir, "rest")
    return code


def close_dbt_duckdb() -> None:
    """dbt-duckdb keeps its database open for the process's next invocation: close it, so that
    this process (or another) can open the file."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager as manager

    with manager._LOCK:
        if manager._ENV is not None:
            manager._ENV.close()
            manager._ENV = None


def _flag(flags: Sequence[str], name: str) -> str:
    return flags[list(flags).index(name) + 1]


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the project once, then build in steps with dbtRunner. ``argv``: the dbt flags of the
    run's invocation (--project-dir, --target-path, --log-path: the run's folder, --vars); the
    candidate is CLV_DUCKDB_PATH, as for `dbt`."""
    from dbt.cli.main import dbtRunner

    flags = list(sys.argv[1:] if argv is None else argv)
    parsed = dbtRunner().invoke(["parse", *flags])
    close_dbt_duckdb()
    if not parsed.success:
        if parsed.exception is not None:
            print(f"{type(parsed.exception).__name__}: {parsed.exception}", flush=True)
        return 2

    def invoke(args: Sequence[str]) -> int:
        try:
            result = dbtRunner(manifest=parsed.result).invoke([*args, *flags])
        finally:
            close_dbt_duckdb()
        if result.exception is not None:  # what `dbt` would print before exiting with 2
            print(f"{type(result.exception).__name__}: {result.exception}", flush=True)
            return 2
        return 0 if result.success else 1

    return build_in_steps(
        invoke,
        Path(os.environ["CLV_DUCKDB_PATH"]),
        Path(_flag(flags, "--target-path")),
        Path(_flag(flags, "--log-path")),
    )


if __name__ == "__main__":
    sys.exit(main())

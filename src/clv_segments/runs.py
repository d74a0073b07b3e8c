"""The main job: write, audit, publish (``clv-segments run``) and history backfills.

Readers (BI tools, the dashboard, the exports) only ever see the *published* warehouse, the
DuckDB file at ``CLV_DUCKDB_PATH``. A run never writes it:

1. **Pre-flight** (nothing built yet): the configuration (``clv_segments.preflight``), one run at a
   time (a lock file beside the warehouse), and history only moves forward (an as-of date before
   the last published one is refused unless it is a backfill).
2. **Write**: a fresh candidate file beside the warehouse (``<name>.candidate.duckdb``) receives a
   copy of the published history tables (schema ``published_history``: the only state carried
   from run to run) and the whole ``dbt build`` (every data test; unit tests run in CI), in two
   steps: staging and the input's circuit breakers (``marts.input_circuit_breakers``) first,
   audited at once, then the rest. Nothing is computed from input that failed its checks.
3. **Audit**: every dbt test of severity error (the build), the circuit breakers
   (``marts.circuit_breakers``) and, when no breaker is breached, the Great Expectations
   suite. A breach the run was not told to accept, a failed test or expectation stops here:
   the published file is untouched, the candidate stays for inspection, and the report
   names each check, its figure, its threshold and its var.
4. **Publish**: the candidate is checkpointed and renamed over the published file, one atomic
   ``rename(2)``. A reader holding the old file open keeps reading the old version; the next one
   to open the path reads the new one. Nothing is copied.

Exit codes: 0 published; 1 the audit failed (nothing published); 2 configuration or usage error
(nothing built); 3 another run holds the warehouse.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from clv_segments.build_steps import EXIT_INPUT_BREACH, INPUT_AUDIT_MART
from clv_segments.preflight import ConfigurationError, check_configuration
from clv_segments.project_settings import load_dbt_vars
from clv_segments.warehouse import relation_exists

__all__ = [
    "EXIT_AUDIT_FAILED",
    "EXIT_CONFIGURATION",
    "EXIT_LOCKED",
    "EXIT_PUBLISHED",
    "AuditFailure",
    "RunOptions",
    "RunOutcome",
    "WarehouseLocked",
    "backfill_dates",
    "candidate_path",
    "format_outcome",
    "redact",
    "run_pipeline",
]

EXIT_PUBLISHED, EXIT_AUDIT_FAILED, EXIT_CONFIGURATION, EXIT_LOCKED = 0, 1, 2, 3
HISTORY_SCHEMA = "history"
"""Where the dbt project writes history (models/history); published with the marts."""
BACKFILL_HISTORY_MODELS = ("segment_membership_history", "rfm_group_history")
"""What a backfill step builds for a past as-of date (with everything upstream of it)."""
COLUMN_RULES_TEST = "expect_column_rules"
"""The generic test holding a model's column rules (macros/generic_tests/expect_column_rules.sql):
a failure of it is reported rule by rule."""
BUILD_STEPS_ARGS = ("build-steps",)
"""The run's build: ``dbt build`` (build_steps.BUILD_ARGS) in two steps in one process,
``python -m clv_segments.build_steps``; the input's circuit breakers are audited between them."""

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")

Progress = Callable[[str], None]


def redact(text: str) -> str:
    """``text`` with every e-mail address replaced by <email>: logs and reports never hold one."""
    return _EMAIL.sub("<email>", text)


def candidate_path(published: Path) -> Path:
    """The candidate file of a published warehouse: beside it, so the rename is atomic."""
    return published.with_name(f"{published.stem}.candidate{published.suffix}")


class WarehouseLocked(RuntimeError):
    """Another run holds the warehouse's lock."""


@contextmanager
def warehouse_lock(published: Path, run_id: str, as_of: date) -> Iterator[None]:
    """Hold ``<warehouse>.lock`` for the whole run; WarehouseLocked when another run holds it.
    The kernel releases the lock when the process ends, however it ends (even SIGKILL)."""
    lock_path = published.with_name(published.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle = lock_path.open("a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown run"
            raise WarehouseLocked(
                f"another clv-segments run holds {published} ({holder}); one run at a time per "
                f"warehouse: wait for it to finish (the lock is {lock_path})"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(
            f"run {run_id}, pid {os.getpid()}, as of {as_of}, "
            f"started {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC"
        )
        handle.flush()
        yield
    finally:
        handle.close()


@dataclass
class RunOptions:
    """What one run does. ``dbt_vars`` are the overrides given with ``--vars``."""

    database: Path
    project_dir: Path = Path(".")
    dbt_vars: dict[str, Any] = field(default_factory=dict)
    accept: list[str] = field(default_factory=list)
    target_path: Path | None = None
    """dbt's target folder (default: <project>/target)."""
    data_docs_dir: Path = Path("artifacts/data_docs")
    run_validation_suite: bool = True
    dbt_threads: int | None = None


@dataclass
class AuditFailure:
    """One failed check: what, the figure, the threshold, the var that sets it, where to look."""

    check: str
    subject: str
    figure: str
    threshold: str = ""
    var: str = ""
    look_at: str = ""


@dataclass
class RunOutcome:
    run_id: str
    as_of_date: str
    database: str
    candidate: str
    published: bool = False
    exit_code: int = EXIT_AUDIT_FAILED
    stage: str = "preflight"
    """Where the run stopped or ended: preflight, build, input audit (the input's circuit
    breakers, before the rest is built), audit, publish, published."""
    failures: list[AuditFailure] = field(default_factory=list)
    accepted: list[dict[str, Any]] = field(default_factory=list)
    rejected_rows: list[dict[str, Any]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    previous_as_of_date: str | None = None
    report_path: str | None = None


# --- pre-flight -----------------------------------------------------------------------------


def last_published_as_of_date(published: Path) -> date | None:
    """The latest as-of date in the published run log; None without a published history."""
    if not published.is_file():
        return None
    with duckdb.connect(str(published), read_only=True) as con:
        if not relation_exists(con, HISTORY_SCHEMA, "run_log"):
            return None
        (latest,) = con.execute(f"select max(as_of_date) from {HISTORY_SCHEMA}.run_log").fetchone()
    return latest


def _refuse_backdated(published: Path, as_of: date, *, backfill: bool) -> date | None:
    latest = last_published_as_of_date(published)
    if latest is not None and as_of < latest:
        hint = (
            "a backfill writes the history of dates before as_of_date, which itself must not be "
            "before the last published one"
            if backfill
            else "to write history for past dates run `clv-segments backfill`; to build another "
            "data set or a backtest, point CLV_DUCKDB_PATH at another file"
        )
        raise ConfigurationError(
            f"var as_of_date = {as_of} is before the last published as-of date {latest} of "
            f"{published}: history only moves forward ({hint}). Nothing was built."
        )
    return latest


# --- write ----------------------------------------------------------------------------------


def _remove(path: Path) -> None:
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)


def prepare_candidate(published: Path, candidate: Path, history_into: str) -> None:
    """A fresh candidate file holding a copy of the published history tables (schema
    ``history_into``), the only state a run carries over; a stale candidate (a killed run) goes."""
    _remove(candidate)
    with duckdb.connect(str(candidate)) as con:
        con.execute(f'create schema "{history_into}"')
        if not published.is_file():
            return
        con.execute(f"attach '{_sql_path(published)}' as published (read_only)")
        tables = [
            name
            for (name,) in con.execute(
                "select table_name from duckdb_tables() "
                "where database_name = 'published' and schema_name = ?",
                [HISTORY_SCHEMA],
            ).fetchall()
        ]
        for name in tables:
            con.execute(
                f'create table "{history_into}"."{name}" as '
                f'select * from published."{HISTORY_SCHEMA}"."{name}"'
            )
        con.execute("detach published")


def _copy_history_forward(candidate: Path, history_into: str, tables: Sequence[str]) -> None:
    """Backfill: the history a step wrote becomes the input of the next step."""
    with duckdb.connect(str(candidate)) as con:
        for name in tables:
            con.execute(
                f'create or replace table "{history_into}"."{name}" as '
                f'select * from "{HISTORY_SCHEMA}"."{name}"'
            )


def _sql_path(path: Path) -> str:
    return str(path.resolve()).replace("'", "''")


def _dbt_executable() -> str:
    return str(Path(sys.executable).with_name("dbt"))


@dataclass(frozen=True)
class DbtInvocation:
    """One dbt invocation of a run: the arguments after ``dbt``, the environment variables it
    adds to the run's, and the folders it runs in and writes to."""

    args: list[str]
    env: dict[str, str]
    project_dir: Path
    target_path: Path
    log_path: Path

    @property
    def command(self) -> list[str]:
        """The process to start: `dbt <args>`, or the build in steps (BUILD_STEPS_ARGS)."""
        if self.args[: len(BUILD_STEPS_ARGS)] == list(BUILD_STEPS_ARGS):
            steps = [sys.executable, "-u", "-m", "clv_segments.build_steps"]
            return [*steps, *self.args[len(BUILD_STEPS_ARGS) :]]
        return [_dbt_executable(), *self.args]

    def prepare(self) -> None:
        """Ready what it writes to: the log's folder exists, and the run_results.json of an
        earlier invocation is gone (a failed start must never be read as that one's results)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        (self.target_path / "run_results.json").unlink(missing_ok=True)


def dbt_invocation(
    args: Sequence[str],
    options: RunOptions,
    candidate: Path,
    dbt_vars: Mapping[str, Any],
    log_path: Path,
    run_id: str,
) -> DbtInvocation:
    """``dbt <args>`` against the candidate file, as run ``run_id`` (the env var CLV_RUN_ID, which
    history.run_log records), with its logs beside ``log_path``."""
    project_dir = options.project_dir.resolve()
    target_path = (options.target_path or project_dir / "target").resolve()
    env = {
        "CLV_DUCKDB_PATH": str(candidate.resolve()),
        "DBT_PROFILES_DIR": os.environ.get("DBT_PROFILES_DIR", str(project_dir)),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "CLV_RUN_ID": run_id,
    }
    if options.dbt_threads:
        env["CLV_DBT_THREADS"] = str(options.dbt_threads)
    flags = ["--project-dir", str(project_dir), "--target-path", str(target_path)]
    flags += ["--log-path", str(log_path.parent), "--vars", json.dumps(dict(dbt_vars), default=str)]
    return DbtInvocation([*args, *flags], env, project_dir, target_path, log_path)


def record_output(lines: Iterable[str], log_path: Path, progress: Progress) -> None:
    """dbt's output lines, e-mail addresses redacted, to ``log_path`` and ``progress`` as they
    come. The log is written line by line (buffering=1): a run killed mid-build keeps the lines
    that say where it was, and `tail -f output.log` follows the build as it goes."""
    with log_path.open("a", encoding="utf-8", buffering=1) as log:
        for line in lines:
            clean = redact(line.rstrip("\n"))
            log.write(clean + "\n")
            progress(clean)


def run_dbt(
    args: Sequence[str],
    options: RunOptions,
    candidate: Path,
    dbt_vars: Mapping[str, Any],
    log_path: Path,
    progress: Progress,
    run_id: str,
) -> int:
    """``dbt <args>`` (dbt_invocation) in its own process; its output goes to ``progress`` and to
    ``log_path`` (record_output). Returns dbt's exit code."""
    invocation = dbt_invocation(args, options, candidate, dbt_vars, log_path, run_id)
    invocation.prepare()
    with subprocess.Popen(
        invocation.command,
        cwd=invocation.project_dir,
        env={**os.environ, **invocation.env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    ) as process:
        assert process.stdout is not None
        record_output(process.stdout, log_path, progress)
        return process.wait()


# --- audit ----------------------------------------------------------------------------------


def dbt_failures(
    target_path: Path, exit_code: int, log_path: Path, candidate: Path | None = None
) -> list[AuditFailure]:
    """Failed nodes of the last dbt invocation (run_results.json), or its error lines when it
    stopped before running any node (a compilation error, a failed on-run-start hook). A failed
    ``expect_column_rules`` test is described by the rules it found broken, read from the
    ``candidate``."""
    failures = []
    results_path = target_path / "run_results.json"
    if results_path.is_file():
        for result in json.loads(results_path.read_text(encoding="utf-8"))["results"]:
            if result["status"] not in ("error", "fail", "runtime error"):
                continue
            unique_id = result["unique_id"]
            kind, _, name = unique_id.split(".")[:3]
            check = "dbt_test" if kind in ("test", "unit_test") else f"dbt_{kind}"
            figure = (result.get("message") or result["status"]).strip()
            if kind == "test" and name.startswith(COLUMN_RULES_TEST) and candidate is not None:
                figure = _broken_column_rules(candidate, result.get("compiled_code")) or figure
            failures.append(
                AuditFailure(
                    check=check,
                    # a data test's name (its unique_id may end in a hash), a model's or seed's
                    subject=name
                    if kind == "test"
                    else (unique_id.split(".")[-1] if kind != "operation" else unique_id),
                    figure=redact(figure),
                    look_at=f"{target_path}/run_results.json; dbt log {log_path}",
                )
            )
    if not failures and exit_code != 0:
        text = log_path.read_text(encoding="utf-8") if log_path.is_file() else ""
        errors = _dbt_error_lines(text)
        failures.append(
            AuditFailure(
                check="dbt",
                subject="build",
                figure=errors or f"dbt exited with {exit_code}",
                look_at=f"dbt log {log_path}",
            )
        )
    return failures


def _broken_column_rules(candidate: Path, compiled_sql: str | None) -> str:
    """What a failed ``expect_column_rules`` test found, from its compiled SQL run on the
    candidate: e.g. "churn_probability between (>= 0 and <= 1): 1 row"; "" when unreadable."""
    if not compiled_sql or not candidate.is_file():
        return ""
    try:
        with duckdb.connect(str(candidate), read_only=True) as con:
            rows = con.execute(
                f"select column_name, rule, failing_rows from ({compiled_sql}) order by 1, 2"
            ).fetchall()
    except duckdb.Error:
        return ""
    return "; ".join(
        f"{column} {rule}: {count:,} row{'' if count == 1 else 's'}" for column, rule, count in rows
    )


def _dbt_error_lines(text: str) -> str:
    """The error message dbt printed (after 'Error' lines), without its timestamps."""
    lines = [re.sub(r"^\x1b\[0m\d\d:\d\d:\d\d\s+", "", line) for line in text.splitlines()]
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in lines]
    start = next((i for i, line in enumerate(lines) if re.search(r"(Error|error:)", line)), None)
    if start is None:
        return ""
    return "\n".join(line for line in lines[start : start + 12] if line.strip())


def breaker_results(
    candidate: Path, mart: str = "circuit_breakers"
) -> tuple[list[AuditFailure], list[dict[str, Any]]]:
    """Unaccepted breaches (failures) and accepted ones (recorded), from ``marts.<mart>``:
    circuit_breakers (every check) or input_circuit_breakers (the input's, audited first)."""
    with duckdb.connect(str(candidate), read_only=True) as con:
        rows = con.execute(
            "select check_name, subject, figure_value, previous_value, threshold, var_name, "
            f"is_accepted, look_at from marts.{mart} where is_breach "
            "order by check_name, subject"
        ).fetchall()
    failures, accepted = [], []
    for check, subject, figure, previous, threshold, var, is_accepted, look_at in rows:
        shown = _figure_text(check, figure, previous)
        if is_accepted:
            accepted.append({"check": check, "subject": subject, "figure": figure})
            continue
        failures.append(
            AuditFailure(
                check=check,
                subject=subject,
                figure=shown,
                threshold=_threshold_text(check, threshold),
                var=var,
                look_at=look_at or "",
            )
        )
    return failures, accepted


def _figure_text(check: str, figure: float | None, previous: float | None) -> str:
    if figure is None:
        return "null"
    if check == "rejected_share":
        return f"{figure:.1%} of raw rows rejected"
    if check == "drop":
        return f"fell {figure:.1%} since the last published run (was {previous:,.2f})"
    if check == "segment_churn":
        return f"{figure:.1%} of its {previous:,.0f} previous members entered or left"
    if check == "readiness_lost":
        return "ready at the last published run, not ready now"
    return f"{figure:,.0f}"


def _threshold_text(check: str, threshold: float | None) -> str:
    if threshold is None:
        return ""
    if check in ("rejected_share", "drop", "segment_churn"):
        return f"{threshold:.1%}"
    return f"{threshold:g}"


def validation_failures(candidate: Path, options: RunOptions, dbt_vars: Mapping) -> list:
    """The Great Expectations suite over the candidate's marts, as audit failures."""
    from clv_segments.quality.validation import run_validation

    report = run_validation(
        candidate,
        project_dir=options.project_dir,
        data_docs_dir=options.data_docs_dir,
        dbt_vars=dbt_vars,
    )
    return [
        AuditFailure(
            check="expectation",
            subject=f"{failure.mart}: {failure.name}",
            figure=redact(
                failure.error.splitlines()[0]
                if failure.error
                else f"{failure.unexpected_count or 0:,} unexpected rows"
                + (f", observed {failure.observed_value}" if failure.observed_value else "")
            ),
            threshold=failure.description or "",
            look_at=f"Data Docs {report.data_docs_index}",
        )
        for failure in report.failures
    ]


def mart_built(candidate: Path, name: str) -> bool:
    """True when the (fresh) candidate holds ``marts.<name>``, i.e. this build made it."""
    if not candidate.is_file():
        return False
    with duckdb.connect(str(candidate), read_only=True) as con:
        return relation_exists(con, "marts", name)


def rejected_row_counts(candidate: Path) -> list[dict[str, Any]]:
    """Rejected raw rows per table and reason code (counts only: raw rows can hold e-mails)."""
    if not mart_built(candidate, "rejected_rows"):
        return []
    with duckdb.connect(str(candidate), read_only=True) as con:
        rows = con.execute(
            "select source_table, rejection_reason, sum(n_copies) from marts.rejected_rows "
            "group by 1, 2 order by 1, 3 desc, 2"
        ).fetchall()
    return [{"table": t, "reason": r, "rows": int(n)} for t, r, n in rows]


# --- publish --------------------------------------------------------------------------------


def publish(candidate: Path, published: Path, history_into: str) -> None:
    """Swap the candidate in: drop the copied published history, checkpoint (no WAL left), sync,
    then one atomic rename over the published file. Readers holding the old file keep it."""
    with duckdb.connect(str(candidate)) as con:
        con.execute(f'drop schema if exists "{history_into}" cascade')
        con.execute("checkpoint")
    wal = candidate.with_name(candidate.name + ".wal")
    if wal.exists():
        raise RuntimeError(f"{wal} remains after a checkpoint: not publishing a partial file")
    descriptor = os.open(candidate, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    published.with_name(published.name + ".wal").unlink(missing_ok=True)
    os.replace(candidate, published)
    directory = os.open(published.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


# --- the run --------------------------------------------------------------------------------


def new_run_id(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def backfill_dates(as_of: date, window_days: int, step_days: int) -> list[date]:
    """Past as-of dates of a backfill, oldest first: every ``step_days`` back from ``as_of``,
    far enough to reach ``window_days`` before it (the guardrails' window by default)."""
    steps = -(-window_days // step_days)
    return [as_of - timedelta(days=step_days * k) for k in range(steps, 0, -1)]


def run_pipeline(
    options: RunOptions,
    progress: Progress,
    *,
    backfill: bool = False,
    today: date | None = None,
) -> RunOutcome:
    """Write, audit and publish one run (after ``backfill`` steps when asked). Never raises for
    a failed check: the outcome says what failed. Raises ConfigurationError or WarehouseLocked
    before anything is built."""
    published = Path(options.database)
    candidate = candidate_path(published)
    project_vars = load_dbt_vars(options.project_dir, options.dbt_vars)
    project_vars["accept_breakers"] = list(options.accept) or project_vars.get("accept_breakers")
    as_of = check_configuration(
        options.project_dir, project_vars, today or datetime.now(UTC).date()
    )
    run_id = new_run_id()
    # the run's identity goes to dbt as the env var CLV_RUN_ID (run_dbt), and run_kind and
    # accept_breakers only when they differ from the project's defaults: the same inputs then
    # give dbt the same --vars run after run, and it reuses its parse (DECISIONLOG "The run's
    # identity is an environment variable")
    dbt_vars = {**options.dbt_vars, "as_of_date": as_of.isoformat()}
    if backfill:
        dbt_vars["run_kind"] = "backfill"
    if options.accept:
        dbt_vars["accept_breakers"] = list(options.accept)
    outcome = RunOutcome(run_id, as_of.isoformat(), str(published), str(candidate))
    with warehouse_lock(published, run_id, as_of):
        previous = _refuse_backdated(published, as_of, backfill=backfill)
        outcome.previous_as_of_date = previous.isoformat() if previous else None
        history_into = str(project_vars.get("published_history_schema") or "published_history")
        run_dir = published.parent / "runs" / run_id
        log_path = run_dir / "output.log"  # dbt writes its own dbt.log beside it
        target_path = (options.target_path or options.project_dir / "target").resolve()

        started = time.perf_counter()
        prepare_candidate(published, candidate, history_into)
        outcome.seconds["prepare"] = time.perf_counter() - started

        if backfill:
            window = project_vars.get("backfill_window_days") or project_vars["health_window_days"]
            dates = backfill_dates(as_of, int(window), int(project_vars["backfill_step_days"]))
            for index, step_date in enumerate(dates, start=1):
                progress(f"backfill {index}/{len(dates)}: history as of {step_date}")
                step_started = time.perf_counter()
                select = " ".join(f"+{name}" for name in BACKFILL_HISTORY_MODELS)
                code = run_dbt(
                    # seeds and models upstream of the history; the final run is the audited one
                    [
                        "build",
                        "--select",
                        select,
                        "--exclude-resource-type",
                        "test",
                        "--exclude-resource-type",
                        "unit_test",
                    ],  # fmt: skip
                    options,
                    candidate,
                    {**dbt_vars, "as_of_date": step_date.isoformat()},
                    log_path,
                    progress,
                    run_id,
                )
                if code != 0:
                    outcome.stage = "build"
                    outcome.failures = dbt_failures(target_path, code, log_path, candidate)
                    return _finish(outcome, run_dir, progress)
                _copy_history_forward(candidate, history_into, BACKFILL_HISTORY_MODELS)
                outcome.seconds[f"backfill {step_date}"] = time.perf_counter() - step_started

        outcome.stage = "build"
        started = time.perf_counter()
        code = run_dbt(BUILD_STEPS_ARGS, options, candidate, dbt_vars, log_path, progress, run_id)
        outcome.seconds["build"] = time.perf_counter() - started
        outcome.rejected_rows = rejected_row_counts(candidate)
        if code == EXIT_INPUT_BREACH:  # the input's breakers stopped it after staging
            outcome.stage = "input audit"
            outcome.failures = breaker_results(candidate, INPUT_AUDIT_MART)[0]
            return _finish(outcome, run_dir, progress)
        if code != 0:
            outcome.failures = dbt_failures(target_path, code, log_path, candidate)
            for mart in ("circuit_breakers", INPUT_AUDIT_MART):  # built before the failure
                if mart_built(candidate, mart):
                    outcome.failures += breaker_results(candidate, mart)[0]
                    break
            return _finish(outcome, run_dir, progress)

        outcome.stage = "audit"
        started = time.perf_counter()
        failures, outcome.accepted = breaker_results(candidate)
        if options.run_validation_suite and not failures:
            # a breach already stops the publish: fix it first, then the suite runs
            failures += validation_failures(candidate, options, dbt_vars)
        outcome.seconds["audit"] = time.perf_counter() - started
        if failures:
            outcome.failures = failures
            return _finish(outcome, run_dir, progress)

        outcome.stage = "publish"
        started = time.perf_counter()
        publish(candidate, published, history_into)
        outcome.seconds["publish"] = time.perf_counter() - started
        outcome.stage, outcome.published, outcome.exit_code = "published", True, EXIT_PUBLISHED
        return _finish(outcome, run_dir, progress)


def _finish(outcome: RunOutcome, run_dir: Path, progress: Progress) -> RunOutcome:
    run_dir.mkdir(parents=True, exist_ok=True)
    report = run_dir / "report.json"
    outcome.report_path = str(report)
    report.write_text(json.dumps(asdict(outcome), indent=2, default=str), encoding="utf-8")
    return outcome


def format_outcome(outcome: RunOutcome) -> str:
    """The run's report as text: rejected rows per table and reason, then either what was
    published or each failed check with its figure, threshold, var and where to look."""
    lines = [f"run {outcome.run_id}, as of {outcome.as_of_date}"]
    if outcome.rejected_rows:
        lines.append("rejected rows (marts.rejected_rows):")
        lines += [
            f"  {row['table']:<17} {row['reason']:<24} {row['rows']:>12,}"
            for row in outcome.rejected_rows
        ]
    elif outcome.stage != "build":
        lines.append("rejected rows: none")
    for accepted in outcome.accepted:
        lines.append(
            f"accepted breach (recorded in history.run_log): {accepted['check']} "
            f"{accepted['subject']} = {accepted['figure']:.4g}"
        )
    timing = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in outcome.seconds.items())
    if outcome.published:
        lines.append(f"PUBLISHED {outcome.database} ({timing})")
    else:
        previous = outcome.previous_as_of_date or "nothing published yet"
        lines.append(
            f"NOT PUBLISHED: the {outcome.stage} failed; {outcome.database} is unchanged "
            f"(still as of {previous}). {len(outcome.failures)} failed check(s):"
        )
        if outcome.stage == "input audit":
            lines.append(
                "  (the raw input failed its circuit breakers, marts.input_circuit_breakers: "
                "nothing past staging was built from it)"
            )
        for failure in outcome.failures:
            lines.append(f"  - {failure.check} [{failure.subject}]: {failure.figure}")
            if failure.threshold or failure.var:
                var = f" (var {failure.var})" if failure.var else ""
                lines.append(f"      threshold: {failure.threshold}{var}")
            if failure.look_at:
                lines.append(f"      look at: {failure.look_at}")
        lines.append(
            f"The candidate warehouse is kept for inspection: {outcome.candidate}. An intended "
            "change is published with --accept CHECK[:SUBJECT] (recorded in history.run_log)."
        )
    lines.append(f"report: {outcome.report_path}")
    return redact("\n".join(lines))

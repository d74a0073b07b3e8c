"""Run the dbt project from tests: each build gets its own DuckDB file, target and log folders.

dbt runs in the test's own process (dbt's programmatic ``dbtRunner``), one invocation at a time:
a new dbt process spends about 5 s importing dbt and the adapter and building the JSON schemas it
validates configurations with, before it parses anything, and a test session starts over a
hundred of them (DECISIONLOG "Tests run dbt in their own process"). `clv-segments run` runs in
process too (``run_main_job``), its dbt invocations through the same runner.
``CLV_TEST_DBT_SUBPROCESS=1`` runs each in its own process instead, as the Spark tests always do.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import asdict, dataclass
from io import StringIO
from pathlib import Path
from typing import TypeVar

import duckdb
from filelock import FileLock

PROJECT_DIR = Path(__file__).resolve().parents[2]
FIXTURES_DIR = PROJECT_DIR / "tests" / "fixtures"
DBT = Path(sys.executable).with_name("dbt")
T = TypeVar("T")


@dataclass
class SubprocessTally:
    """How many dbt and clv-segments runs this process started through the harness, and their
    seconds: conftest.py reports them per test module at the end of the suite."""

    count: int = 0
    seconds: float = 0.0

    def run(self, command: list[str], **kwargs) -> subprocess.CompletedProcess:
        started = time.perf_counter()
        try:
            return subprocess.run(command, **kwargs)
        finally:
            self.count += 1
            self.seconds += time.perf_counter() - started

    def run_in_process(self, call: Callable[[], T]) -> T:
        started = time.perf_counter()
        try:
            return call()
        finally:
            self.count += 1
            self.seconds += time.perf_counter() - started


HARNESS_RUNS = SubprocessTally()


class ParseReuse:
    """dbt's parse, reused from one build of this process to the next.

    In process (``run_dbt``), the manifest is parsed once per vars, target and warehouse file
    name and handed to the later invocations (``_dbt_in_process``). A `dbt` or `clv-segments run`
    child process reuses dbt's saved parse (``partial_parse.msgpack``) when the project's files,
    the ``--vars`` and the profile's connection, warehouse path included, are the same; dbt
    checks, so a miss costs a full parse, never a stale one. The harness points
    ``DBT_PARTIAL_PARSE_FILE_PATH`` at the parse the last child with the same project and vars
    left; a test that wants the reuse keeps its warehouse at one path per worker (test_faults'
    ``warehouse``). Each test has its own raw folder, so every build of a process is given the
    same raw path: a symlink of the process, pointed at the test's folder just before the
    build. A full parse costs about 7 s in a new process and 4 s in process (DECISIONLOG "Tests
    reuse dbt's parse")."""

    def __init__(self) -> None:
        self._folder: Path | None = None
        # the manifests this process parsed for run_dbt, by vars, target and warehouse file name
        self.manifests: dict[str, object] = {}
        # the manifest.json each target folder holds from this process: parse key and the file's
        # modification time, so that an unchanged one is not written again (``write_manifest``)
        self.written: dict[Path, tuple[str, int]] = {}
        # CLV_TEST_REUSE_PARSE=0: every build parses, as without the harness (the A/B, or to
        # rule the reuse out when a test fails)
        self.enabled = os.environ.get("CLV_TEST_REUSE_PARSE", "") not in ("0", "false", "no")

    @property
    def folder(self) -> Path:
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="clv_dbt_parse_"))
            atexit.register(shutil.rmtree, self._folder, True)
        return self._folder

    def write_manifest(self, manifest, parse_key: str, target_path: Path) -> None:
        """manifest.json of ``parse_key`` in ``target_path``, as dbt writes it after a build;
        not again when the folder holds it already, unchanged since this process wrote it (the
        main job's two build steps, a fault case's runs: 0.4 to 0.9 s a write at load 4)."""
        from dbt.parser.manifest import write_manifest

        path = target_path / "manifest.json"
        if path.is_file() and self.written.get(target_path) == (parse_key, path.stat().st_mtime_ns):
            return
        write_manifest(manifest, str(target_path))
        self.written[target_path] = (parse_key, path.stat().st_mtime_ns)

    def stable_vars(self, dbt_vars: dict) -> dict:
        """``dbt_vars`` with ``raw_data_path`` replaced by this process's symlink to it."""
        raw = dbt_vars.get("raw_data_path")
        if not self.enabled or not raw or not Path(raw).is_dir():
            return dbt_vars
        link = self.folder / "raw"
        link.unlink(missing_ok=True)
        link.symlink_to(Path(raw).resolve(), target_is_directory=True)
        return {**dbt_vars, "raw_data_path": str(link)}

    def saved(self, project_dir: Path, key: object) -> Path:
        digest = hashlib.sha256(
            json.dumps([str(project_dir), key], sort_keys=True, default=str).encode()
        ).hexdigest()[:16]
        return self.folder / f"{digest}.msgpack"

    def env(self, project_dir: Path, key: object) -> dict[str, str]:
        saved = self.saved(project_dir, key)
        return (
            {"DBT_PARTIAL_PARSE_FILE_PATH": str(saved)} if self.enabled and saved.exists() else {}
        )

    def keep(self, project_dir: Path, key: object, target_dir: Path) -> None:
        parsed = target_dir / "partial_parse.msgpack"
        if parsed.exists():
            shutil.copyfile(parsed, self.saved(project_dir, key))


PARSES = ParseReuse()

# dbt's flags, its event manager and dbt-duckdb's connection are global to a process: one
# in-process invocation at a time. ``timeout`` is not enforced in process (a build cannot be
# stopped from outside its thread): a hung build hangs its worker until pytest is stopped
_IN_PROCESS = threading.Lock()
IN_PROCESS = os.environ.get("CLV_TEST_DBT_SUBPROCESS", "") not in ("1", "true", "yes")
# an in-process invocation prints nothing: its lines reach the test through dbtRunner's callback
NO_CONSOLE_LOG = ["--log-level", "none"]


@contextmanager
def _process_state(env: dict[str, str], cwd: Path = PROJECT_DIR) -> Iterator[None]:
    """The environment and working directory a `dbt` process of the harness would get."""
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    os.environ.update(env)
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)


def _dbt_in_process(
    args: list[str],
    env: dict[str, str],
    parse_args: list[str],
    parse_key: str | None,
    cwd: Path = PROJECT_DIR,
) -> tuple[int, str]:
    """``dbt <args>`` through dbtRunner: its exit code as the `dbt` command would return it (0
    success, 1 a node failed, 2 dbt stopped on an error) and the lines it would have printed.

    The manifest is parsed once per ``parse_key`` (``dbt parse <parse_args>``) and handed to each
    later invocation with that key, as dbt's programmatic API allows (``dbtRunner(manifest=)``);
    such an invocation does not write manifest.json, so the harness writes it. A parse that
    fails is not kept: the invocation then parses itself and reports the error as dbt would.
    No ``parse_key``: the invocation parses itself (a `dbt parse`, a project copy's one run).
    dbt's console logger is off (``--log-level none``): the lines come from the callback, which
    sees every event whatever the log level, and a `dbt` process's console is what that
    callback replaces. Formatting and printing them again cost a test-sized build about a tenth
    of its CPU (DECISIONLOG "Tests run dbt in their own process"). The debug file log stays."""
    from dbt.cli.main import dbtRunner

    from clv_segments.build_steps import close_dbt_duckdb

    lines: list[str] = []

    def printed(event) -> None:
        if event.info.level != "debug":
            lines.append(event.info.msg)

    args = [*args, *NO_CONSOLE_LOG]
    with _IN_PROCESS, _process_state(env, cwd):
        try:
            manifest = PARSES.manifests.get(parse_key) if parse_key else None
            reused = manifest is not None
            if not reused and PARSES.enabled and parse_key:
                parsed = dbtRunner().invoke(["parse", *parse_args, *NO_CONSOLE_LOG])
                close_dbt_duckdb()
                if parsed.success:
                    manifest = PARSES.manifests[parse_key] = parsed.result
            outcome = dbtRunner(manifest=manifest, callbacks=[printed]).invoke(args)
            if reused and outcome.exception is None:
                target_path = Path(parse_args[parse_args.index("--target-path") + 1])
                PARSES.write_manifest(manifest, parse_key, target_path)
        finally:
            close_dbt_duckdb()
    if outcome.exception is not None:
        lines.append(f"{type(outcome.exception).__name__}: {outcome.exception}")
    code = 0 if outcome.success else (1 if outcome.exception is None else 2)
    return code, "\n".join(lines)


@dataclass
class DbtResult:
    returncode: int
    output: str
    database: Path
    target_dir: Path

    def run_results(self) -> list[dict]:
        path = self.target_dir / "run_results.json"
        return json.loads(path.read_text())["results"] if path.exists() else []

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.database), read_only=True) as con:
            return con.sql(sql).fetchall()

    def frame(self, sql: str):
        with duckdb.connect(str(self.database), read_only=True) as con:
            return con.sql(sql).df()


def run_dbt(
    args: list[str],
    workdir: Path,
    dbt_vars: dict | None = None,
    database: Path | None = None,
    check: bool = True,
    timeout: int = 900,
    unit_tests: bool = False,
    raw_link: bool = True,
) -> DbtResult:
    """Run `dbt <args>` on the project against `database` (default: workdir/warehouse.duckdb).
    A `build` leaves out the dbt unit tests, as `clv-segments run` does: they do not depend on
    the data, and test_dbt_unit_tests.py runs them once (``unit_tests=True`` keeps them).
    dbt reads ``raw_data_path`` through the process's symlink (ParseReuse); ``raw_link=False``
    gives it the folder itself, for a test that checks that a message names a raw file."""
    workdir.mkdir(parents=True, exist_ok=True)
    if args[0] == "build" and not unit_tests:
        args = [*args, "--exclude-resource-type", "unit_test"]
    database = database or workdir / "warehouse.duckdb"
    target_dir = workdir / "target"
    env = {
        **os.environ,
        "CLV_DUCKDB_PATH": str(database),
        "DBT_PROFILES_DIR": str(PROJECT_DIR),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    flags = ["--project-dir", str(PROJECT_DIR), "--target-path", str(target_dir)]
    flags += ["--log-path", str(workdir / "logs")]
    if dbt_vars:
        dbt_vars = PARSES.stable_vars(dbt_vars) if raw_link else dbt_vars
        flags += ["--vars", json.dumps(dbt_vars)]
    command = [*args, *flags]
    # what the parse depends on: the vars, the target, the warehouse file's name (the database
    # name of every node); the project is the same for every run_dbt
    target = args[args.index("--target") + 1] if "--target" in args else None
    parse_key = ["dbt", dbt_vars, target, database.name]
    if IN_PROCESS and target is None:
        in_process_key = json.dumps(parse_key, sort_keys=True, default=str)
        returncode, output = HARNESS_RUNS.run_in_process(
            lambda: _dbt_in_process(command, env, flags, in_process_key)
        )
    else:  # Spark: its Python models need our session helper (clv-segments dbt), in its own JVM
        proc = HARNESS_RUNS.run(
            [str(DBT), *command],
            cwd=PROJECT_DIR,
            env={**env, **PARSES.env(PROJECT_DIR, parse_key)},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        returncode, output = proc.returncode, proc.stdout + proc.stderr
        PARSES.keep(PROJECT_DIR, parse_key, target_dir)
    result = DbtResult(returncode, output, database, target_dir)
    if check and returncode != 0:
        raise AssertionError(f"dbt {' '.join(args)} failed:\n{result.output[-6000:]}")
    return result


CLV_SEGMENTS = Path(sys.executable).with_name("clv-segments")


def run_main_job(
    command: str,
    database: Path,
    dbt_vars: dict,
    *extra: str,
    project_dir: Path = PROJECT_DIR,
    timeout: int = 900,
    env: dict | None = None,
) -> subprocess.CompletedProcess:
    """`clv-segments run|backfill` against the published warehouse ``database``; dbt's target
    folder and the artifacts live beside it, so tests never share them. In process (the
    harness's default) the command runs through ``clv_segments.cli.main`` and each of its dbt
    invocations through dbtRunner (``_run_dbt_in_process``); otherwise it is a `clv-segments`
    process whose dbt children reuse the parse of the last run with the same project, vars and
    options (ParseReuse). ``timeout`` applies to the process only."""
    workdir = database.parent
    dbt_vars = PARSES.stable_vars(dbt_vars)
    parse_key = [command, dbt_vars, extra]
    argv = [
        command,
        "--database",
        str(database),
        "--vars",
        json.dumps(dbt_vars),
        "--project-dir",
        str(project_dir),
        "--target-path",
        str(workdir / "target"),
        "--artifacts",
        str(workdir / "artifacts"),
        *extra,
    ]
    run_env = {
        "DBT_PROFILES_DIR": str(project_dir),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        **(env or {}),
    }
    if IN_PROCESS:
        return HARNESS_RUNS.run_in_process(lambda: _main_job_in_process(argv, run_env, project_dir))
    completed = HARNESS_RUNS.run(
        [str(CLV_SEGMENTS), *argv],
        cwd=project_dir,
        env={**os.environ, **run_env, **PARSES.env(project_dir, parse_key)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    PARSES.keep(project_dir, parse_key, workdir / "target")
    return completed


def _main_job_in_process(
    argv: list[str], env: dict[str, str], project_dir: Path
) -> subprocess.CompletedProcess:
    """`clv-segments <argv>` in this process: its exit code and what it printed, as the
    process would give them. Its dbt invocations are the command's own (runs.dbt_invocation:
    arguments, vars, environment), run by dbtRunner instead of a `dbt` child."""
    from clv_segments import cli, runs

    stdout, stderr = StringIO(), StringIO()
    launcher = runs.run_dbt
    runs.run_dbt = _run_dbt_in_process
    try:
        with _process_state(env, project_dir), redirect_stdout(stdout), redirect_stderr(stderr):
            try:
                code = cli.main(argv)
            except SystemExit as exit_:  # argparse's usage errors
                code = exit_.code if isinstance(exit_.code, int) else 2
    finally:
        runs.run_dbt = launcher
    return subprocess.CompletedProcess(
        [str(CLV_SEGMENTS), *argv], code, stdout.getvalue(), stderr.getvalue()
    )


def _run_dbt_in_process(args, options, candidate, dbt_vars, log_path, progress, run_id) -> int:
    """``clv_segments.runs.run_dbt`` with dbtRunner in place of the child process: the same
    invocation (runs.dbt_invocation, prepared by its own ``prepare``), output recorded by the
    command's own runs.record_output; the build in steps (runs.BUILD_STEPS_ARGS) through
    build_steps.build_in_steps, as its process runs it.
    The parse is reused per project, vars, target and candidate name."""
    from clv_segments.build_steps import build_in_steps
    from clv_segments.runs import BUILD_STEPS_ARGS, dbt_invocation, record_output

    invocation = dbt_invocation(args, options, candidate, dbt_vars, log_path, run_id)
    invocation.prepare()
    flags = invocation.args[len(args) :]
    # what the parse depends on: the project, the target, the vars, the candidate's file name
    # (not the log folder, which is the run's own)
    vars_ = flags[flags.index("--vars") + 1]
    parse_key = json.dumps(
        ["clv-segments", str(invocation.project_dir), str(invocation.target_path), vars_,
         candidate.name]
    )  # fmt: skip

    def invoke(dbt_args) -> int:
        # dbt's console lines come back as ``output`` (the process's would come through its pipe)
        with redirect_stdout(StringIO()):
            code, output = _dbt_in_process(
                [*dbt_args, *flags], invocation.env, flags, parse_key, invocation.project_dir
            )
        record_output(output.splitlines(), log_path, progress)
        return code

    if tuple(args) == BUILD_STEPS_ARGS:
        return build_in_steps(invoke, candidate, invocation.target_path, log_path.parent)
    return invoke(args)


def project_copy(folder: Path) -> Path:
    """A copy of the project's files in ``folder``/project, for a test that changes them (its
    own parse; the project itself is never changed). Built warehouses, logs and caches stay;
    the Data Docs assets (node_modules, 100 MB) are linked, not copied."""
    project = folder / "project"
    shutil.copytree(
        PROJECT_DIR,
        project,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "data", "target", "logs", "artifacts", "node_modules",
            "__pycache__", ".*_cache", ".tmp_dagster_home_*", "*.duckdb*",
        ),
    )  # fmt: skip
    if (PROJECT_DIR / "node_modules").is_dir():
        (project / "node_modules").symlink_to(
            PROJECT_DIR / "node_modules", target_is_directory=True
        )
    return project


def parse_project(project: Path, workdir: Path) -> tuple[int, str]:
    """`dbt parse` of a test's ``project`` copy in this process (dbtRunner): dbt's exit code and
    the lines it printed, its error message included."""
    flags = ["--project-dir", str(project), "--target-path", str(workdir / "target")]
    flags += ["--log-path", str(workdir / "logs")]
    env = {
        "CLV_DUCKDB_PATH": str(workdir / "warehouse.duckdb"),
        "DBT_PROFILES_DIR": str(project),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    return HARNESS_RUNS.run_in_process(
        lambda: _dbt_in_process(["parse", *flags], env, flags, None, project)
    )


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


def built_once_result(tmp_path_factory, name: str, build: Callable[[Path], DbtResult]) -> DbtResult:
    """``build(folder)``, a dbt run, once for the whole test session (``built_once``): the
    result every worker gets, read-only."""

    def record(folder: Path) -> dict:
        result = build(folder)
        return {
            **asdict(result),
            "database": str(result.database),
            "target_dir": str(result.target_dir),
        }

    built = built_once(tmp_path_factory, name, record)
    return DbtResult(
        built["returncode"], built["output"], Path(built["database"]), Path(built["target_dir"])
    )

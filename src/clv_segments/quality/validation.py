"""Run the Great Expectations suite over the marts of a built warehouse, and write Data Docs.

The suite (``clv_segments.quality.mart_expectations``) runs in the warehouse: GX's SQL data source
(SQLAlchemy, with the duckdb-engine dialect for the embedded DuckDB file) turns every expectation
into SQL, and the row rules are SQL to begin with; no mart is loaded into pandas. The GX context
is ephemeral (nothing is written but the Data Docs site).

Per mart, two validation definitions run, because GX takes one result format per run: column
checks with a SUMMARY result keyed by the mart's key columns (a sample of failing keys and
values), row rules with a COMPLETE result (the rows the SQL returned, at most 200). The results
land in the context's (in-memory) validation store, and the Data Docs site is built once at the
end: a checkpoint's UpdateDataDocsAction would rebuild the whole site after every run, which
took 60 % of the time.
"""

from __future__ import annotations

import enum
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from clv_segments.quality.data_docs import OfflineSite, find_node_modules, make_offline
from clv_segments.quality.mart_expectations import (
    MARTS_SCHEMA,
    MartChecks,
    build_mart_checks,
    check_name,
    load_settings,
)

__all__ = ["CheckResult", "ValidationReport", "format_report", "run_validation"]

SAMPLE_ROWS = 10
"""Failing rows kept per failed expectation (the full set is one query away: failing_rows_query)."""


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one expectation on one mart."""

    mart: str
    name: str
    kind: str
    """``column`` (a GX built-in expectation), ``rule`` (SQL returning the failing rows) or
    ``table`` (the mart itself is missing)."""
    success: bool
    description: str | None = None
    arguments: dict[str, Any] = field(default_factory=dict)
    """A column check's arguments (min_value, value_set...), as in its Data Docs entry."""
    unexpected_count: int | None = None
    observed_value: Any = None
    failing_rows: tuple[dict[str, Any], ...] = ()
    failing_rows_query: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class ValidationReport:
    """What ``run_validation`` found: every check's result, what was skipped and why."""

    database: Path
    results: tuple[CheckResult, ...]
    skipped: tuple[str, ...]
    data_docs_index: Path | None
    seconds: float
    data_docs_offline: OfflineSite | None = None
    """What was done to open Data Docs without network; None when node_modules was not found
    (the pages then load their styling from CDNs)."""

    @property
    def success(self) -> bool:
        return all(result.success for result in self.results)

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        return tuple(result for result in self.results if not result.success)


# --- GX and DuckDB ----------------------------------------------------------------------------


class _EmbeddedDialect(enum.StrEnum):
    DUCKDB = "duckdb"


def _keep_one_duckdb_connection() -> None:
    """Make GX hold one open connection to DuckDB, as it does for SQLite.

    GX 1.24 runs each metric query on a pooled connection, closes it, then fetches the rows.
    Closing rolls the DuckDB connection back, which discards the pending result, so every
    metric comes back empty (GX issues #10738 and #11579: IndexError in resolve_metric_bundle).
    GX keeps a single persisted connection for SQLite and a few others, listed in the private
    tuple ``_PERSISTED_CONNECTION_DIALECTS``; DuckDB, an embedded one-file database too, is added
    to it. great_expectations is pinned, and this fails loudly if a release renames the tuple.
    """
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine_module

    dialects = getattr(engine_module, "_PERSISTED_CONNECTION_DIALECTS", None)
    if dialects is None:
        raise RuntimeError(
            "great_expectations no longer has _PERSISTED_CONNECTION_DIALECTS: "
            "check the DuckDB workaround in clv_segments/quality/validation.py against this release"
        )
    if _EmbeddedDialect.DUCKDB not in dialects:
        engine_module._PERSISTED_CONNECTION_DIALECTS = (*dialects, _EmbeddedDialect.DUCKDB)


def _require_duckdb_dialect() -> None:
    """GX reaches DuckDB through SQLAlchemy and the duckdb-engine dialect (requirements.lock)."""
    try:
        import duckdb_engine  # noqa: F401
        import sqlalchemy  # noqa: F401
    except ImportError as exc:
        raise RuntimeError(
            f"{exc.name} is not installed: the suite runs in DuckDB through SQLAlchemy and "
            "duckdb-engine (pinned in requirements.lock; run `make install`)"
        ) from None


def _ephemeral_context(data_docs_dir: Path):
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        data_docs_sites={
            "marts": {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(data_docs_dir),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        },
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _exception_message(exception_info: Mapping[str, Any] | None) -> str | None:
    """The first error message of a GX result's exception_info (flat or keyed by metric)."""
    if not exception_info:
        return None
    entries = [exception_info]
    entries += [value for value in exception_info.values() if isinstance(value, Mapping)]
    for entry in entries:
        if entry.get("raised_exception") and entry.get("exception_message"):
            return str(entry["exception_message"]).strip()
    return None


_NOT_ARGUMENTS = {"batch_id", "column", "column_list", "unexpected_rows_query", "result_format"}


def _check_result(mart: str, kind: str, validation_result: Any, sample_rows: int) -> CheckResult:
    config = validation_result.expectation_config
    result = dict(validation_result.result or {})
    if kind == "rule":
        rows = (result.get("details") or {}).get("unexpected_rows") or []
        unexpected_count = result.get("observed_value")
        query = str(config.kwargs.get("unexpected_rows_query", ""))
        query = query.replace("{batch}", f"{MARTS_SCHEMA}.{mart}")
        observed = None
    else:
        rows = result.get("partial_unexpected_index_list") or []
        unexpected_count = result.get("unexpected_count")
        query = result.get("unexpected_index_query")
        observed = result.get("observed_value")
    return CheckResult(
        mart=mart,
        name=check_name(config.type, config.kwargs, config.meta),
        kind=kind,
        success=bool(validation_result.success),
        description=config.description,
        arguments={
            key: value
            for key, value in config.kwargs.items()
            if key not in _NOT_ARGUMENTS and value is not None
        },
        unexpected_count=unexpected_count,
        observed_value=observed,
        failing_rows=tuple(dict(row) for row in rows[:sample_rows]),
        failing_rows_query=query,
        error=_exception_message(validation_result.exception_info),
    )


def _run_mart(context: Any, datasource: Any, checks: MartChecks, sample_rows: int) -> list:
    import great_expectations as gx

    with warnings.catch_warnings():
        # GX 1.14+ deprecates schema_name in favour of a schema in the connection configuration,
        # which its generic SQL data source (the one DuckDB uses) has no field for.
        warnings.filterwarnings("ignore", "`schema_name` is deprecated", DeprecationWarning)
        asset = datasource.add_table_asset(
            name=checks.mart, table_name=checks.mart, schema_name=MARTS_SCHEMA
        )
    batch = asset.add_batch_definition_whole_table(name=f"{checks.mart} (whole table)")
    kinds = (
        (
            "column",
            checks.column_checks,
            {
                "result_format": "SUMMARY",
                "partial_unexpected_count": sample_rows,
                "unexpected_index_column_names": list(checks.key_columns),
                "return_unexpected_index_query": True,
            },
        ),
        ("rule", checks.row_rules, {"result_format": "COMPLETE"}),
    )
    results = []
    for kind, expectations, result_format in kinds:
        if not expectations:
            continue
        name = f"{checks.mart}.{kind}_checks"
        suite = context.suites.add(gx.ExpectationSuite(name=name, expectations=list(expectations)))
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=name, data=batch, suite=suite)
        )
        suite_result = definition.run(result_format=result_format)
        results += [
            _check_result(checks.mart, kind, item, sample_rows) for item in suite_result.results
        ]
    return results


def _built_marts(database: Path) -> set[str]:
    """The tables and views of the marts schema (the connection is closed before GX opens its
    own: DuckDB refuses a second connection with another configuration in one process)."""
    if not database.is_file():
        raise FileNotFoundError(f"warehouse file {database} not found: build the project first")
    try:
        con = duckdb.connect(str(database), read_only=True)
    except duckdb.IOException as exc:
        raise ValueError(f"cannot open {database} read-only (is dbt writing it?): {exc}") from None
    with con:
        rows = con.execute(
            "select table_name from information_schema.tables where table_schema = ?",
            [MARTS_SCHEMA],
        ).fetchall()
    return {name for (name,) in rows}


# --- the entry point --------------------------------------------------------------------------


def run_validation(
    database_path: str | Path,
    project_dir: str | Path = ".",
    data_docs_dir: str | Path = "artifacts/data_docs",
    dbt_vars: Mapping[str, Any] | None = None,
    sample_rows: int = SAMPLE_ROWS,
) -> ValidationReport:
    """Run the suite over the marts of the DuckDB file ``database_path`` and write Data Docs.

    Thresholds come from ``project_dir``'s dbt_project.yml vars overridden by ``dbt_vars`` (pass
    the ``--vars`` the build used) and from its tier seeds. A mart the project defines
    (``models/marts/**/<mart>.sql``) but the warehouse lacks fails; one the project does not
    define (yet) is skipped and listed in ``skipped``.
    """
    started = time.perf_counter()
    database = Path(database_path).resolve()
    data_docs = Path(data_docs_dir).resolve()
    project = Path(project_dir)
    suite = build_mart_checks(load_settings(project, dbt_vars))

    built = _built_marts(database)
    results: list[CheckResult] = []
    skipped: list[str] = []
    for checks in suite:
        if checks.mart in built:
            continue
        if any(project.glob(f"models/marts/**/{checks.mart}.sql")):
            results.append(
                CheckResult(
                    mart=checks.mart,
                    name="mart_exists",
                    kind="table",
                    success=False,
                    error=f"{MARTS_SCHEMA}.{checks.mart} not found in {database}: build it first",
                )
            )
        else:
            skipped.append(f"{checks.mart} (the project has no such model)")

    _require_duckdb_dialect()
    _keep_one_duckdb_connection()
    data_docs.mkdir(parents=True, exist_ok=True)
    context = _ephemeral_context(data_docs)
    datasource = context.data_sources.add_sql(
        name="warehouse",
        connection_string=f"duckdb:///{database}",
        kwargs={"connect_args": {"read_only": True}},
    )
    try:
        for checks in suite:
            if checks.mart in built:
                results += _run_mart(context, datasource, checks, sample_rows)
    finally:
        datasource.get_execution_engine().close()
        datasource.get_engine().dispose()
    context.build_data_docs(site_names=["marts"])
    node_modules = find_node_modules(project)
    offline = make_offline(data_docs, node_modules) if node_modules is not None else None

    index = data_docs / "index.html"
    return ValidationReport(
        database=database,
        results=tuple(results),
        skipped=tuple(skipped),
        data_docs_index=index if index.is_file() else None,
        seconds=time.perf_counter() - started,
        data_docs_offline=offline,
    )


# --- the printed report -----------------------------------------------------------------------


def _cell(value: Any) -> str:
    text = "null" if value is None else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _rows_table(rows: tuple[dict[str, Any], ...], indent: str = "    ") -> list[str]:
    columns = list(dict.fromkeys(column for row in rows for column in row))
    cells = [[_cell(row.get(column)) for column in columns] for row in rows]
    widths = [
        max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(columns)
    ]
    lines = [indent + "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += [
        indent + "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in cells
    ]
    return [line.rstrip() for line in lines]


def format_report(report: ValidationReport) -> str:
    """The report as text: a summary table, then each failure with a sample of failing rows."""
    mart_width = max([len("mart"), *(len(r.mart) for r in report.results)])
    name_width = max([len("expectation"), *(len(r.name) for r in report.results)])
    lines = [
        f"Great Expectations suite over {report.database} "
        f"({len(report.results)} expectations, {report.seconds:.1f} s)",
        "",
        f"{'mart':<{mart_width}}  {'expectation':<{name_width}}  result  unexpected",
    ]
    for result in report.results:
        status = "pass" if result.success else ("ERROR" if result.error else "FAIL")
        count = "" if result.unexpected_count is None else f"{result.unexpected_count:,}"
        lines.append(
            f"{result.mart:<{mart_width}}  {result.name:<{name_width}}  {status:<6}  {count}"
        )
    for skipped in report.skipped:
        lines.append(f"skipped: {skipped}")
    for failure in report.failures:
        lines += ["", f"FAILED {failure.mart}: {failure.name}"]
        if failure.description:
            lines.append(f"  rule: {failure.description}")
        elif failure.arguments:
            arguments = ", ".join(f"{key}={value}" for key, value in failure.arguments.items())
            lines.append(f"  expected: {arguments}")
        if failure.error:
            lines.append(f"  error: {failure.error.splitlines()[0]}")
        if failure.unexpected_count is not None:
            lines.append(f"  unexpected rows: {failure.unexpected_count:,}")
        if failure.observed_value is not None:
            lines.append(f"  observed: {failure.observed_value}")
        if failure.failing_rows:
            lines.append(f"  first {len(failure.failing_rows)} failing rows:")
            lines += _rows_table(failure.failing_rows)
        if failure.failing_rows_query and not failure.error:
            lines.append(f"  all failing rows: {' '.join(failure.failing_rows_query.split())}")
    passed = len(report.results) - len(report.failures)
    lines += [
        "",
        f"{'PASSED' if report.success else 'FAILED'}: {passed} of {len(report.results)} "
        "expectations met",
    ]
    if report.data_docs_index is not None:
        lines.append(f"Data Docs: {report.data_docs_index}")
        offline = report.data_docs_offline
        if offline is None:
            lines.append(
                "  (its styling loads from CDNs: node_modules with the pinned assets was not "
                "found; run `make install` or set CLV_NODE_MODULES)"
            )
        elif offline.unknown_urls:
            lines.append(f"  (still loads from the network: {', '.join(offline.unknown_urls)})")
    return "\n".join(lines)

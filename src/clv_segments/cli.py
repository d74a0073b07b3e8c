"""The ``clv-segments`` command line (also ``python -m clv_segments``).

One small function adds each subcommand's parser (``_add_<name>``) and one runs it
(``_run_<name>``); ``SUBCOMMANDS`` lists the adders in the order ``--help`` shows them. To add a
subcommand, write the pair and append the adder. A runner returns the exit code; a ValueError or
FileNotFoundError it raises is printed as ``clv-segments <subcommand>: error: ...`` (exit 2).
Progress goes to stderr, results to stdout.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime

from clv_segments import __version__

Runner = Callable[[argparse.Namespace], int]


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text!r}") from None


# --- generate ---------------------------------------------------------------------------------


def _add_generate(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        help="write synthetic raw tables (a true BG/NBD + Gamma-Gamma shop) for the demo",
        description=(
            "Write the six raw tables of the input contract (customers, orders, refunds, events, "
            "list_memberships, suppressions) for a synthetic shop whose purchases follow a true "
            "BG/NBD process and spend a true Gamma-Gamma model, plus true_parameters.json. "
            "The same seed gives byte-identical files."
        ),
    )
    parser.add_argument("--customers", type=int, default=50_000, help="number of customers")
    parser.add_argument(
        "--as-of-date",
        type=_iso_date,
        default=None,
        help="last day of the history, YYYY-MM-DD (None: today, UTC)",
    )
    parser.add_argument("--years", type=float, default=3.0, help="length of the history window")
    parser.add_argument("--seed", type=int, default=42, help="random seed")
    parser.add_argument("--out", default="data/raw", help="output folder")
    parser.add_argument(
        "--format", choices=("parquet", "csv"), default="parquet", help="file format"
    )
    parser.add_argument(
        "--dirty-fraction",
        type=float,
        default=0.0005,
        help="share of bad rows injected per kind, for the rejected-rows model (0 disables)",
    )
    parser.set_defaults(run=_run_generate)


def _run_generate(args: argparse.Namespace) -> int:
    from clv_segments.demo.generator import generate

    as_of = args.as_of_date or datetime.now(UTC).date()
    _progress(
        f"generating {args.customers:,} customers, {args.years:g} years to {as_of}, "
        f"seed {args.seed}, into {args.out} ({args.format})"
    )
    summary = generate(
        n_customers=args.customers,
        as_of_date=as_of,
        years=args.years,
        seed=args.seed,
        out_dir=args.out,
        fmt=args.format,
        dirty_fraction=args.dirty_fraction,
        progress=_progress,
    )
    for name, rows in summary.rows.items():
        print(f"{name:<18} {rows:>14,} rows")
    print(f"true parameters    {summary.true_parameters_path}")
    print(f"done in {summary.seconds:.1f} s")
    return 0


# --- load-cdnow -------------------------------------------------------------------------------


def _add_load_cdnow(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "load-cdnow",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        help="write the real CDNOW data shipped in lifetimes as raw customers and orders",
        description=(
            "Read CDNOW_master.txt (23,570 customers) or CDNOW_sample.txt (2,357) from the "
            "installed lifetimes package and write customers and orders of the input contract, "
            "plus dataset.json with the calibration/holdout split."
        ),
    )
    parser.add_argument("--out", default="data/raw", help="output folder")
    parser.add_argument(
        "--variant", choices=("master", "sample"), default="master", help="which CDNOW file"
    )
    parser.add_argument(
        "--format", choices=("parquet", "csv"), default="parquet", help="file format"
    )
    parser.set_defaults(run=_run_load_cdnow)


def _run_load_cdnow(args: argparse.Namespace) -> int:
    from clv_segments.demo.cdnow import load_cdnow

    _progress(f"loading CDNOW {args.variant} into {args.out} ({args.format})")
    summary = load_cdnow(args.out, variant=args.variant, fmt=args.format)
    print(f"source             {summary.source}")
    for name, rows in summary.rows.items():
        print(f"{name:<18} {rows:>14,} rows")
    print(
        f"zero-amount orders {summary.zero_amount_orders:>14,} "
        "(kept; zero-value orders do not count as orders)"
    )
    print(f"order dates        {summary.first_date} .. {summary.last_date}")
    return 0


# --- the parser -------------------------------------------------------------------------------

# --- where ------------------------------------------------------------------------------------


def _add_where(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "where",
        help="print where the marts are and how to query them",
        description="List the tables of the marts schema in the DuckDB warehouse file.",
    )
    parser.add_argument(
        "--database", default=None, help="DuckDB file (default: $CLV_DUCKDB_PATH or data/)"
    )
    parser.set_defaults(run=_run_where)


def _run_where(args: argparse.Namespace) -> int:
    from pathlib import Path

    from clv_segments.warehouse import default_database, describe

    print(describe(Path(args.database) if args.database else default_database()))
    return 0


# --- backtest ---------------------------------------------------------------------------------


def _add_backtest(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "backtest",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        help="print the backtest every build makes: candidates and baselines, the fits",
        description=(
            "Print the backtest of a built warehouse from its marts: marts.clv_backtest_metrics "
            "as a table (each candidate model and naive baseline scored on the holdout, the "
            "clv_backtest_days before the as-of date; the chosen model marked) and the "
            "parameters of the current fit and of the backtest's calibration fit from "
            "marts.clv_model_diagnostics. With --reference fhl2005, the published figures of "
            "Fader, Hardie and Lee (2005) beside the calibration fit (they match on the CDNOW "
            "sample in weeks built as of 1998-06-30 with clv_backtest_days 273, as make "
            "backtest does). Builds nothing: build with clv-segments run first."
        ),
    )
    parser.add_argument(
        "--database", default=None, help="DuckDB file (default: $CLV_DUCKDB_PATH or data/)"
    )
    parser.add_argument(
        "--reference",
        choices=("fhl2005",),
        default=None,
        help="published figures to print beside the backtest's calibration fit",
    )
    parser.set_defaults(run=_run_backtest)


def _run_backtest(args: argparse.Namespace) -> int:
    from clv_segments.clv.backtest import format_model_card, read_model_card
    from clv_segments.warehouse import default_database

    card = read_model_card(args.database or default_database())
    print(format_model_card(card, reference=args.reference))
    return 0


# --- dashboard --------------------------------------------------------------------------------


def _add_dashboard(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "dashboard",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        help="write the CLV dashboard (one self-contained HTML page) from the marts",
        description=(
            "Read the marts and write Klaviyo's CLV dashboard (seed 002) as one HTML file that "
            "opens offline: the model card (the current fit, and the build's backtest of the "
            "candidate models against naive baselines: figures, churn calibration, predicted "
            "versus actual), five example profiles, segments and exposures using CLV "
            "(sortable), and charts of predicted CLV, churn risk, tier and persona sizes with "
            "revenue share. A card whose mart (or the manifest) is missing says so."
        ),
    )
    parser.add_argument(
        "--database", default=None, help="DuckDB file (default: $CLV_DUCKDB_PATH or data/)"
    )
    parser.add_argument("--out", default="artifacts/dashboard/index.html", help="HTML file")
    parser.add_argument(
        "--manifest", default="target/manifest.json", help="dbt manifest (exposures)"
    )
    parser.set_defaults(run=_run_dashboard)


def _run_dashboard(args: argparse.Namespace) -> int:
    from clv_segments.dashboard import write_dashboard
    from clv_segments.warehouse import default_database

    database = args.database or default_database()
    _progress(f"reading the marts of {database}")
    result = write_dashboard(database, args.out, args.manifest)
    for card, why in result.missing.items():
        _progress(f"  {card}: {why}")
    print(f"dashboard          {result.path}")
    return 0


# --- export -----------------------------------------------------------------------------------


def _add_export(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        help="write activation CSVs: one per segment, plus profile_properties.csv",
        description=(
            "Write one CSV per segment (emailable members only unless --include-non-emailable) "
            "and profile_properties.csv for every customer with an email: Email Address, "
            "External ID (customer_id) and the predictive fields under Klaviyo's profile "
            "property names, ready for a list upload. A segment whose email guardrails are "
            "breached (marts.segment_email_health) is skipped, and its earlier file removed, "
            "unless --force; one whose guardrails could not be checked yet (no membership "
            "history over the window: run `clv-segments backfill`) is written and marked "
            "written_unchecked. export_manifest.json records what was written and why. Files "
            "are owner-only (0600) and replaced atomically; no email is printed."
        ),
    )
    parser.add_argument(
        "--database", default=None, help="DuckDB file (default: $CLV_DUCKDB_PATH or data/)"
    )
    parser.add_argument("--out", default="artifacts/exports", help="output folder")
    parser.add_argument(
        "--segment",
        action="append",
        default=None,
        metavar="NAME",
        help="export this segment only (repeatable; default: every segment)",
    )
    parser.add_argument(
        "--include-non-emailable",
        action="store_true",
        help="write every member with an email (an ads audience), not only the emailable ones",
    )
    parser.add_argument(
        "--force", action="store_true", help="write segments whose guardrails are breached too"
    )
    parser.set_defaults(run=_run_export)


def _run_export(args: argparse.Namespace) -> int:
    from clv_segments.activation.exports import ExportError, export_activation
    from clv_segments.warehouse import default_database

    try:
        result = export_activation(
            args.database or default_database(),
            args.out,
            segments=args.segment,
            include_non_emailable=args.include_non_emailable,
            force=args.force,
            progress=_progress,
        )
    except ExportError as exc:
        print(f"clv-segments export: error: {exc}", file=sys.stderr)
        return 1
    for segment in result.segments:
        rows = f"{segment.rows_written:>10,} rows" if segment.path else f"{'skipped':>15}"
        print(f"{segment.segment_name:<32} {rows}  {segment.status}")
    if result.unchecked:
        print(
            f"{len(result.unchecked)} segment(s) written_unchecked; "
            f"{result.unchecked[0].guardrails_unchecked_reason}"
        )
    print(f"{'profile properties':<32} {result.profile_properties['rows_written']:>10,} rows")
    print(f"exports            {result.out_dir}")
    print(f"manifest           {result.manifest_path}")
    return 0


# --- validate ---------------------------------------------------------------------------------


def _add_validate(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "validate",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        help="run the Great Expectations suite over the marts and write its Data Docs",
        description=(
            "Run the Great Expectations suite over the marts, as SQL in the warehouse: value "
            "ranges, total_clv = historic_clv + predicted_clv, probabilities within [0, 1], "
            "churn_risk and tiers consistent with the thresholds. Thresholds come from the vars "
            "of dbt_project.yml (overridden by --vars, as dbt takes them: pass the build's) and "
            "the tier seeds. Prints a summary and each failed expectation with its first failing "
            "rows, writes Data Docs (HTML); exits 1 when an expectation fails."
        ),
    )
    parser.add_argument(
        "--database", default=None, help="DuckDB file (default: $CLV_DUCKDB_PATH or data/)"
    )
    parser.add_argument("--project-dir", default=".", help="the dbt project (vars and seeds)")
    parser.add_argument("--vars", default=None, help="dbt vars overrides, YAML: '{key: value}'")
    parser.add_argument(
        "--data-docs", default="artifacts/data_docs", help="folder of the Data Docs site"
    )
    parser.set_defaults(run=_run_validate)


def _run_validate(args: argparse.Namespace) -> int:
    from clv_segments.project_settings import parse_vars_option
    from clv_segments.quality.validation import format_report, run_validation
    from clv_segments.warehouse import default_database

    database = args.database or default_database()
    _progress(f"validating the marts of {database} with Great Expectations")
    try:
        report = run_validation(
            database,
            project_dir=args.project_dir,
            data_docs_dir=args.data_docs,
            dbt_vars=parse_vars_option(args.vars),
        )
    except RuntimeError as exc:  # the suite could not run at all: not a failed expectation
        print(f"clv-segments validate: error: {exc}", file=sys.stderr)
        return 2
    print(format_report(report))
    return 0 if report.success else 1


# --- run and backfill: write, audit, publish -------------------------------------------------


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database",
        default=None,
        help="the published warehouse file (default: $CLV_DUCKDB_PATH or data/clv_segments.duckdb)",
    )
    parser.add_argument("--vars", default=None, help="dbt vars, YAML: '{as_of_date: 2026-11-20}'")
    parser.add_argument(
        "--accept",
        action="append",
        default=[],
        metavar="CHECK[:SUBJECT]",
        help="publish despite this circuit breaker's breach (repeatable; recorded in "
        "history.run_log), e.g. drop:clean_rows:events or segment_churn",
    )
    parser.add_argument("--project-dir", default=".", help="the dbt project")
    parser.add_argument("--target-path", default=None, help="dbt target folder (<project>/target)")
    parser.add_argument(
        "--artifacts", default="artifacts", help="folder of the dashboard, exports and Data Docs"
    )
    parser.add_argument(
        "--no-activation",
        action="store_true",
        help="publish only: no dashboard and no exports after the publish",
    )


def _add_run(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        help="the main job: build a candidate, audit it, publish it atomically, then activate",
        description=(
            "Write, audit, publish. Build the whole dbt project into a candidate warehouse that "
            "readers never see (staging first: input that trips the breakers of "
            "marts.input_circuit_breakers stops the run before anything else is built), audit it "
            "(every dbt test of severity error, the Great Expectations suite, the circuit "
            "breakers of marts.circuit_breakers) and, only if "
            "everything passes, publish it with one atomic rename over the warehouse file; then "
            "write the dashboard and the exports from what was published. A failed audit changes "
            "nothing that was published and prints each failed check with its figure, threshold, "
            "var and where to look. Exit codes: 0 published, 1 audit failed, 2 configuration "
            "error (nothing built), 3 another run holds the warehouse."
        ),
    )
    _add_run_options(parser)
    parser.set_defaults(run=_run_run, backfill=False)


def _add_backfill(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "backfill",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        help="write segment and RFM history for past as-of dates, then run and publish",
        description=(
            "Build the segment membership and RFM history for past as-of dates from the raw "
            "data, every backfill_step_days (7) over backfill_window_days before as_of_date "
            "(default: health_window_days, 90), oldest first, then run as `clv-segments run` "
            "does for as_of_date itself, and publish all of it at once if the audit passes. "
            "After it, the email guardrails and 'membership last changed' work from day one."
        ),
    )
    _add_run_options(parser)
    parser.set_defaults(run=_run_run, backfill=True)


def _run_run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from clv_segments.preflight import ConfigurationError
    from clv_segments.project_settings import parse_vars_option
    from clv_segments.runs import (
        EXIT_CONFIGURATION,
        EXIT_LOCKED,
        RunOptions,
        WarehouseLocked,
        format_outcome,
        run_pipeline,
    )
    from clv_segments.warehouse import default_database

    command = "backfill" if args.backfill else "run"
    artifacts = Path(args.artifacts)
    options = RunOptions(
        database=Path(args.database) if args.database else default_database(),
        project_dir=Path(args.project_dir),
        dbt_vars=parse_vars_option(args.vars),
        accept=args.accept,
        target_path=Path(args.target_path) if args.target_path else None,
        data_docs_dir=artifacts / "data_docs",
    )
    try:
        outcome = run_pipeline(options, _progress, backfill=args.backfill)
    except ConfigurationError as exc:
        print(f"clv-segments {command}: configuration error, nothing was built:", file=sys.stderr)
        for line in str(exc).splitlines():
            print(f"  - {line}", file=sys.stderr)
        return EXIT_CONFIGURATION
    except WarehouseLocked as exc:
        print(f"clv-segments {command}: refused: {exc}", file=sys.stderr)
        return EXIT_LOCKED
    print(format_outcome(outcome))
    if outcome.published and not args.no_activation:
        from clv_segments.activation.exports import ExportError

        try:
            _activate(options, artifacts)
        except ExportError as exc:  # the publish stands; the files of the last export remain
            print(
                f"clv-segments {command}: published, but the exports failed: {exc}", file=sys.stderr
            )
            return 1
    return outcome.exit_code


def _activate(options, artifacts) -> None:
    """Dashboard and exports, from the published warehouse only."""
    from clv_segments.activation.exports import export_activation
    from clv_segments.dashboard import write_dashboard

    target = options.target_path or options.project_dir / "target"
    dashboard = write_dashboard(
        options.database, artifacts / "dashboard" / "index.html", target / "manifest.json"
    )
    print(f"dashboard          {dashboard.path}")
    result = export_activation(options.database, artifacts / "exports", progress=_progress)
    print(f"exports            {result.out_dir} ({len(result.segments)} segments)")
    if result.skipped:
        skipped = ", ".join(segment.segment_name for segment in result.skipped)
        print(f"  skipped, email guardrails breached: {skipped}")
    if result.unchecked:
        print(
            f"  {len(result.unchecked)} segment(s) written_unchecked; "
            f"{result.unchecked[0].guardrails_unchecked_reason}"
        )


def _add_dbt(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "dbt",
        help="run dbt with the project's Spark Python-model helper registered",
        description=(
            "Run `dbt <arguments>` in this process (dbt's dbtRunner) with the session "
            "submission helper registered on dbt-spark (clv_segments.spark_python), so that the "
            "Python models run in the local Spark session: e.g. `clv-segments dbt build "
            "--target spark`. On other adapters it is plain dbt."
        ),
    )
    parser.add_argument("dbt_args", nargs=argparse.REMAINDER, help="dbt's own arguments")
    parser.set_defaults(run=_run_dbt)


def _run_dbt(args: argparse.Namespace) -> int:
    from clv_segments.spark_python import run_dbt

    return run_dbt(args.dbt_args)


SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_run,
    _add_backfill,
    _add_generate,
    _add_load_cdnow,
    _add_where,
    _add_backtest,
    _add_dashboard,
    _add_export,
    _add_validate,
    _add_dbt,
]


def build_parser() -> argparse.ArgumentParser:
    """The ``clv-segments`` argument parser with every subcommand of ``SUBCOMMANDS``."""
    parser = argparse.ArgumentParser(
        prog="clv-segments",
        description=(
            "Customer lifetime value and persona segments, warehouse-native: "
            "demo data, the CDNOW benchmark and tools around the dbt project."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 success, 2 usage or input error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    run: Runner | None = getattr(args, "run", None)
    if run is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return run(args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"clv-segments {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

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
    from clv_segments.generator import generate

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
    from clv_segments.cdnow import load_cdnow

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


SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_generate,
    _add_load_cdnow,
    _add_where,
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

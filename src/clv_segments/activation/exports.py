"""Activation exports: CSV files a marketer imports into an email platform (Klaviyo first).

``export_activation`` writes, into one folder:

- ``<segment_name>.csv`` per segment (all of ``marts.segment_summary``, or the ones asked for):
  its members with an email, only the emailable ones unless ``include_non_emailable`` (an ads
  audience), with the predictive fields;
- ``profile_properties.csv``: every customer with an email and the same fields, to refresh the
  profile properties of the whole account (no message is sent by such an import, so
  emailability does not filter it);
- ``export_manifest.json``: what was written or skipped, and why, with row counts.

Headers are Klaviyo's names (``KLAVIYO_COLUMNS``): "Email Address" (the first column Klaviyo's
list upload expects), "External ID" (Klaviyo's ``external_id``: the shop's customer_id, the key
that ties a Klaviyo profile to the warehouse), then the predictive fields under the names
Klaviyo's profile shows (Historic CLV, Predicted CLV, ...; the API names of
``predictive_analytics`` are the mart's column names, for reverse-ETL tools that map columns
one to one). Klaviyo computes its own predictive fields and does not let an import overwrite
them, so these land as custom properties with the same names. Amounts have 2 decimals in the
reporting currency, probabilities are fractions with 4 decimals, dates are YYYY-MM-DD, and an
empty cell means no prediction.

Guardrails (``marts.segment_email_health.guardrail_status``): a segment in ``breach`` is not
written (and a file left by an earlier run is removed, so that nobody imports a stale audience)
unless ``force``; a segment in ``no_history_yet`` (the membership history does not cover the
guardrails' window yet) is written but recorded as ``written_unchecked``, with the reason and the
fix (``clv-segments backfill``), never as checked. Members without an email cannot be imported
by email and are counted, not written.

Personal data: the files hold emails. Each one is readable by its owner only (mode 0600; the
export folder is created 0700) and replaced atomically: written in a private temporary folder
(0700) inside the export folder, set to 0600, then renamed over the old file, so a reader sees
the old file or the new one, whole, and never a world-readable one. Progress lines, errors and
the manifest hold counts, names and paths, never an email.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from clv_segments.runs import redact
from clv_segments.warehouse import connect_read_only, relation_exists

__all__ = [
    "DEFAULT_EXPORT_DIR",
    "FILE_MODE",
    "FOLDER_MODE",
    "KLAVIYO_COLUMNS",
    "MANIFEST_NAME",
    "PROFILE_PROPERTIES_NAME",
    "ExportError",
    "ExportResult",
    "SegmentExport",
    "export_activation",
]

DEFAULT_EXPORT_DIR = Path("artifacts/exports")
PROFILE_PROPERTIES_NAME = "profile_properties.csv"
MANIFEST_NAME = "export_manifest.json"
FILE_MODE = 0o600
"""Every file written: read and write by its owner only (the files hold emails)."""
FOLDER_MODE = 0o700
"""The export folder when export_activation creates it, and its private temporary folders."""

KLAVIYO_COLUMNS: tuple[tuple[str, str], ...] = (
    # (CSV header = Klaviyo's property name, column of marts.customer_profile_properties = Klaviyo's
    #  API field for the predictive ones; the mart rounds them as exported)
    ("Email Address", "email"),
    ("External ID", "customer_id"),
    ("Historic CLV", "historic_clv"),
    ("Predicted CLV", "predicted_clv"),
    ("Total CLV", "total_clv"),
    ("Historic number of orders", "historic_number_of_orders"),
    ("Predicted number of orders", "predicted_number_of_orders"),
    ("Average order value", "average_order_value"),
    ("Average days between orders", "average_days_between_orders"),
    ("Churn probability", "churn_probability"),
    ("Churn risk", "churn_risk"),
    # next_order_date: the model's date or Klaviyo's average gap, as var clv_next_order_date_source
    ("Expected date of next order", "next_order_date"),
)
"""The CSV columns, in order."""

_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")
_TEMP_PREFIX = ".export-"

WRITTEN, WRITTEN_UNCHECKED, FORCED, SKIPPED = (
    "written",
    "written_unchecked",
    "forced",
    "skipped_guardrails",
)
"""A segment's status in the manifest: written (guardrails checked, ok), written_unchecked
(written, guardrails not checked), forced (written despite a breach), skipped_guardrails."""


class ExportError(RuntimeError):
    """The warehouse could not be read or a file could not be written (message redacted)."""


@dataclass
class SegmentExport:
    segment_name: str
    status: str  # written | written_unchecked | forced | skipped_guardrails
    path: str | None
    rows_written: int = 0
    members: int = 0
    emailable_members: int = 0
    left_out_not_emailable: int = 0
    left_out_without_email: int = 0
    guardrail_status: str | None = None  # ok | breach | no_history_yet; None: mart not built
    breached_guardrails: str | None = None
    guardrails_unchecked_reason: str | None = None
    removed_stale_file: bool = False


@dataclass
class ExportResult:
    out_dir: str
    manifest_path: str
    generated_at: str
    database: str
    as_of_date: str | None
    include_non_emailable: bool
    force: bool
    guardrails_checked: bool
    """True only when the guardrails of every segment asked for were checked."""
    segments_built: bool
    columns: list[str]
    segments: list[SegmentExport] = field(default_factory=list)
    profile_properties: dict = field(default_factory=dict)

    @property
    def skipped(self) -> list[SegmentExport]:
        return [s for s in self.segments if s.status == SKIPPED]

    @property
    def unchecked(self) -> list[SegmentExport]:
        return [s for s in self.segments if s.status == WRITTEN_UNCHECKED]


@dataclass(frozen=True)
class _Guardrails:
    """One segment's row of marts.segment_email_health."""

    status: str
    breached: str
    unchecked_reason: str | None


def _file_name(segment_name: str) -> str:
    return f"{_SAFE_NAME.sub('_', segment_name).strip('_') or 'segment'}.csv"


def _select_list() -> str:
    return ",\n        ".join(f'p.{column} as "{header}"' for header, column in KLAVIYO_COLUMNS)


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# --- private, atomic files --------------------------------------------------------------------


def _make_export_folder(out: Path) -> None:
    """Create ``out`` owner-only (0700) when it does not exist; an existing folder keeps its
    mode (its files are 0600 whatever the folder allows)."""
    if out.is_dir():
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        out.mkdir(mode=FOLDER_MODE)
    except FileExistsError:  # created meanwhile by another process: keep it as it is
        return
    os.chmod(out, FOLDER_MODE)  # mkdir's mode is reduced by the umask; chmod sets it exactly


@contextmanager
def _private_folder(out: Path) -> Iterator[Path]:
    """A temporary folder inside ``out`` that only the owner can enter (mkdtemp makes it 0700),
    removed on exit however the block ends: files are written there, then renamed into ``out``
    (the same file system, so the rename is atomic)."""
    folder = Path(tempfile.mkdtemp(prefix=_TEMP_PREFIX, suffix=".tmp", dir=out))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _publish_file(written: Path, path: Path) -> None:
    """Mode 0600, flushed to disk, then one rename over ``path``: readers see the old file or
    the new one, whole."""
    os.chmod(written, FILE_MODE)
    _fsync(written)
    os.replace(written, path)
    _fsync(path.parent)


def _copy_to_csv(con: duckdb.DuckDBPyConnection, query: str, path: Path, private: Path) -> int:
    """Write the query's rows to ``path`` (0600, atomically) and return how many were written.
    DuckDB's COPY creates its file with the default mode: it does so inside ``private``, a
    folder nobody else can enter, and the file is 0600 before it is renamed into place."""
    written = private / path.name
    (rows,) = con.execute(
        f"copy ({query}) to {_sql_text(str(written))} (header, delimiter ',')"
    ).fetchone()
    _publish_file(written, path)
    return int(rows)


def _write_private_text(text: str, path: Path, private: Path) -> None:
    """``text`` into ``path``: a new file created 0600 before any byte is written, renamed."""
    written = private / path.name
    descriptor = os.open(written, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        os.fchmod(descriptor, FILE_MODE)  # the umask may have narrowed it: exactly 0600
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            descriptor = -1  # the file object owns it now
            handle.write(text)
    finally:
        if descriptor >= 0:
            os.close(descriptor)
    _publish_file(written, path)


# --- guardrails -------------------------------------------------------------------------------


def unchecked_reason(
    history_starts_on: date | None, window_days: int, window_starts_on: date
) -> str:
    """Why a segment's email guardrails were not checked, and how to get them checked."""
    history = (
        f"membership history starts on {history_starts_on:%Y-%m-%d}"
        if history_starts_on is not None
        else "there is no membership history yet"
    )
    return (
        f"email guardrails not checked: {history}, the {window_days}-day window needs it from "
        f"{window_starts_on:%Y-%m-%d}; run `clv-segments backfill`"
    )


def _guardrails(con: duckdb.DuckDBPyConnection) -> dict[str, _Guardrails] | None:
    """segment_name -> its guardrails (marts.segment_email_health); None when not built."""
    if not relation_exists(con, "marts", "segment_email_health"):
        return None
    try:
        rows = con.execute(
            "select segment_name, guardrail_status, breached_guardrails, history_starts_on, "
            "health_window_days, window_starts_on from marts.segment_email_health"
        ).fetchall()
    except duckdb.BinderException as exc:
        raise ExportError(
            "marts.segment_email_health lacks a column the exports read (guardrail_status, "
            "history_starts_on, health_window_days, window_starts_on): the warehouse was built "
            f"by an older version of the project; run `clv-segments run` ({redact(str(exc))})"
        ) from None
    guardrails = {}
    for name, status, breached, starts_on, window_days, window_starts_on in rows:
        guardrails[name] = _Guardrails(
            status=status,
            breached=str(breached or "guardrails breached") if status == "breach" else "",
            unchecked_reason=(
                unchecked_reason(starts_on, int(window_days), window_starts_on)
                if status == "no_history_yet"
                else None
            ),
        )
    return guardrails


def _segment_names(con: duckdb.DuckDBPyConnection, asked: Sequence[str] | None) -> list[str]:
    known = [
        row[0]
        for row in con.execute(
            "select distinct segment_name from marts.segment_summary order by 1"
        ).fetchall()
    ]
    if not asked:
        return known
    unknown = [name for name in asked if name not in known]
    if unknown:
        raise ValueError(
            f"unknown segment(s) {', '.join(unknown)}: marts.segment_summary has "
            f"{', '.join(known[:30])}{' ...' if len(known) > 30 else ''}"
        )
    return list(dict.fromkeys(asked))


# --- the files --------------------------------------------------------------------------------


def _export_segment(
    con: duckdb.DuckDBPyConnection,
    name: str,
    path: Path,
    private: Path,
    include_non_emailable: bool,
) -> SegmentExport:
    members, emailable, with_email, emailable_with_email = con.execute(
        """
        select
            count(*),
            count(*) filter (where s.is_emailable),
            count(*) filter (where p.email is not null),
            count(*) filter (where s.is_emailable and p.email is not null)
        from marts.customer_segments as s
        left join marts.customer_profile_properties as p on p.customer_id = s.customer_id
        where s.segment_name = ?
        """,
        [name],
    ).fetchone()
    emailable_filter = "" if include_non_emailable else "and s.is_emailable"
    query = f"""
        select
        {_select_list()}
        from marts.customer_segments as s
        inner join marts.customer_profile_properties as p on p.customer_id = s.customer_id
        where s.segment_name = {_sql_text(name)} and p.email is not null {emailable_filter}
        order by p.customer_id
    """
    rows = _copy_to_csv(con, query, path, private)
    if include_non_emailable:
        audience, audience_with_email = members, with_email
    else:
        audience, audience_with_email = emailable, emailable_with_email
    return SegmentExport(
        segment_name=name,
        status=WRITTEN,
        path=str(path),
        rows_written=rows,
        members=int(members),
        emailable_members=int(emailable),
        left_out_not_emailable=int(members - audience),
        left_out_without_email=int(audience - audience_with_email),
    )


def _export_profile_properties(con: duckdb.DuckDBPyConnection, path: Path, private: Path) -> dict:
    query = f"""
        select
        {_select_list()}
        from marts.customer_profile_properties as p
        where p.email is not null
        order by p.customer_id
    """
    rows = _copy_to_csv(con, query, path, private)
    (customers,) = con.execute("select count(*) from marts.customer_profile_properties").fetchone()
    return {
        "path": str(path),
        "rows_written": rows,
        "customers": int(customers),
        "left_out_without_email": int(customers - rows),
    }


def _export_segments(
    con: duckdb.DuckDBPyConnection,
    result: ExportResult,
    out: Path,
    private: Path,
    segments: Sequence[str] | None,
    progress: Callable[[str], None],
) -> None:
    guardrails = _guardrails(con)
    names = _segment_names(con, segments)
    audience = "all members" if result.include_non_emailable else "emailable members"
    progress(f"exporting {len(names)} segments ({audience}) into {out}")
    if guardrails is None:
        progress("email guardrails NOT CHECKED: marts.segment_email_health is not built")
    else:
        reasons = {
            guardrails[name].unchecked_reason
            for name in names
            if name in guardrails and guardrails[name].unchecked_reason
        }
        for reason in sorted(reasons):
            progress(reason)
    for index, name in enumerate(names, start=1):
        path = out / _file_name(name)
        checked = guardrails.get(name) if guardrails is not None else None
        if checked is not None and checked.status == "breach" and not result.force:
            removed = path.exists()
            if removed:
                path.unlink()
            result.segments.append(
                SegmentExport(
                    segment_name=name,
                    status=SKIPPED,
                    path=None,
                    guardrail_status=checked.status,
                    breached_guardrails=checked.breached,
                    removed_stale_file=removed,
                )
            )
            progress(
                f"[{index}/{len(names)}] {name}: SKIPPED, email guardrails breached "
                f"({checked.breached}); --force exports it anyway"
                + (f"; removed the earlier {path.name}" if removed else "")
            )
            continue
        export = _export_segment(con, name, path, private, result.include_non_emailable)
        note = ""
        if checked is None:
            export.status = WRITTEN_UNCHECKED
            export.guardrails_unchecked_reason = (
                "email guardrails not checked: marts.segment_email_health is not built"
                if guardrails is None
                else f"email guardrails not checked: {name} is not in marts.segment_email_health"
            )
            note = " (email guardrails NOT CHECKED)"
        else:
            export.guardrail_status = checked.status
            if checked.status == "breach":
                export.status, export.breached_guardrails = FORCED, checked.breached
                note = f" (FORCED despite {checked.breached})"
            elif checked.status != "ok":
                export.status = WRITTEN_UNCHECKED
                export.guardrails_unchecked_reason = checked.unchecked_reason or (
                    f"email guardrails not checked: guardrail_status is {checked.status}"
                )
                note = " (email guardrails NOT CHECKED: no history yet)"
        result.segments.append(export)
        progress(
            f"[{index}/{len(names)}] {name}: {export.rows_written:,} rows of "
            f"{export.members:,} members -> {path}{note}"
        )
    result.guardrails_checked = guardrails is not None and not result.unchecked


def export_activation(
    database: str | Path,
    out_dir: str | Path = DEFAULT_EXPORT_DIR,
    segments: Sequence[str] | None = None,
    include_non_emailable: bool = False,
    force: bool = False,
    progress: Callable[[str], None] = lambda message: None,
) -> ExportResult:
    """Write the segment files, profile_properties.csv and export_manifest.json into
    ``out_dir``; see the module docstring for the rules. ValueError for an unknown segment,
    or when segments are asked for and the segment marts are not built; FileNotFoundError
    without the warehouse or its predictions; ExportError when the warehouse cannot be read or
    a file cannot be written. Messages never hold an email."""

    def say(message: str) -> None:
        progress(redact(message))

    failure: BaseException | None = None
    try:
        return _export_activation(
            Path(database), Path(out_dir), segments, include_non_emailable, force, say
        )
    except (ValueError, FileNotFoundError, ExportError) as exc:
        failure = type(exc)(redact(str(exc)))
    except (duckdb.Error, OSError) as exc:
        failure = ExportError(f"export into {out_dir} failed: {redact(str(exc))}")
    # raised outside the except block: the original message (which could quote a value of the
    # warehouse) is not chained to the error a caller prints or logs
    raise failure


def _export_activation(
    database: Path,
    out: Path,
    segments: Sequence[str] | None,
    include_non_emailable: bool,
    force: bool,
    progress: Callable[[str], None],
) -> ExportResult:
    with connect_read_only(database) as con:
        for needed in ("customer_profile_properties",):
            if not relation_exists(con, "marts", needed):
                raise FileNotFoundError(f"marts.{needed} not built in {database}: run dbt build")
        segments_built = relation_exists(con, "marts", "customer_segments") and relation_exists(
            con, "marts", "segment_summary"
        )
        if not segments_built and segments:
            raise ValueError(
                "segments not built (marts.customer_segments / marts.segment_summary "
                f"missing in {database}): cannot export {', '.join(segments)}"
            )
        (as_of,) = con.execute(
            "select max(as_of_date) from marts.customer_profile_properties"
        ).fetchone()
        result = ExportResult(
            out_dir=str(out),
            manifest_path=str(out / MANIFEST_NAME),
            generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
            database=str(database),
            as_of_date=as_of.isoformat()[:10] if as_of is not None else None,
            include_non_emailable=include_non_emailable,
            force=force,
            guardrails_checked=False,
            segments_built=segments_built,
            columns=[header for header, _ in KLAVIYO_COLUMNS],
        )
        _make_export_folder(out)
        with _private_folder(out) as private:
            if segments_built:
                _export_segments(con, result, out, private, segments, progress)
            else:
                progress(
                    "segments not built (marts.segment_summary missing): profile properties only"
                )
            result.profile_properties = _export_profile_properties(
                con, out / PROFILE_PROPERTIES_NAME, private
            )
            progress(
                f"profile properties: {result.profile_properties['rows_written']:,} customers "
                f"-> {result.profile_properties['path']}"
            )
            manifest = {
                **{k: v for k, v in asdict(result).items() if k not in ("segments",)},
                "column_mapping": dict(KLAVIYO_COLUMNS),
                "segments": [asdict(s) for s in result.segments],
            }
            _write_private_text(
                json.dumps(manifest, indent=2) + "\n", Path(result.manifest_path), private
            )
    return result

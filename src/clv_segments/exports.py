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

Guardrails: a segment whose ``marts.segment_email_health.is_breach`` is true is not written
(and a file left by an earlier run is removed, so that nobody imports a stale audience) unless
``force``. Members without an email cannot be imported by email and are counted, not written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from clv_segments.warehouse import connect_read_only, relation_exists

__all__ = [
    "DEFAULT_EXPORT_DIR",
    "KLAVIYO_COLUMNS",
    "MANIFEST_NAME",
    "PROFILE_PROPERTIES_NAME",
    "ExportResult",
    "SegmentExport",
    "export_activation",
]

DEFAULT_EXPORT_DIR = Path("artifacts/exports")
PROFILE_PROPERTIES_NAME = "profile_properties.csv"
MANIFEST_NAME = "export_manifest.json"

KLAVIYO_COLUMNS: tuple[tuple[str, str, str], ...] = (
    # (CSV header = Klaviyo's property name, source column = Klaviyo's API field for the
    #  predictive ones, SQL over p = marts.customer_predictions and c = stg_shop__customers)
    ("Email Address", "email", "c.email"),
    ("External ID", "customer_id", "p.customer_id"),
    ("Historic CLV", "historic_clv", "cast(p.historic_clv as decimal(18, 2))"),
    ("Predicted CLV", "predicted_clv", "cast(p.predicted_clv as decimal(18, 2))"),
    ("Total CLV", "total_clv", "cast(p.total_clv as decimal(18, 2))"),
    ("Historic number of orders", "historic_number_of_orders", "p.historic_number_of_orders"),
    (
        "Predicted number of orders",
        "predicted_number_of_orders",
        "round(p.predicted_number_of_orders, 2)",
    ),
    ("Average order value", "average_order_value", "cast(p.average_order_value as decimal(18, 2))"),
    (
        "Average days between orders",
        "average_days_between_orders",
        "round(p.average_days_between_orders, 1)",
    ),
    ("Churn probability", "churn_probability", "round(p.churn_probability, 4)"),
    ("Churn risk", "churn_risk", "p.churn_risk"),
    (
        "Expected date of next order",
        "expected_date_of_next_order",
        "cast(p.expected_date_of_next_order as date)",
    ),
)
"""The CSV columns, in order."""

_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass
class SegmentExport:
    segment_name: str
    status: str  # written | forced | skipped_guardrails
    path: str | None
    rows_written: int = 0
    members: int = 0
    emailable_members: int = 0
    left_out_not_emailable: int = 0
    left_out_without_email: int = 0
    breached_guardrails: str | None = None
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
    segments_built: bool
    columns: list[str]
    segments: list[SegmentExport] = field(default_factory=list)
    profile_properties: dict = field(default_factory=dict)

    @property
    def skipped(self) -> list[SegmentExport]:
        return [s for s in self.segments if s.status == "skipped_guardrails"]


def _file_name(segment_name: str) -> str:
    return f"{_SAFE_NAME.sub('_', segment_name).strip('_') or 'segment'}.csv"


def _select_list() -> str:
    return ",\n        ".join(f'{sql} as "{header}"' for header, _, sql in KLAVIYO_COLUMNS)


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _copy_to_csv(con: duckdb.DuckDBPyConnection, query: str, path: Path) -> int:
    """Write the query's rows to ``path`` (atomically) and return how many were written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".csv.tmp")
    (rows,) = con.execute(
        f"copy ({query}) to {_sql_text(str(tmp))} (header, delimiter ',')"
    ).fetchone()
    tmp.replace(path)
    return int(rows)


def _guardrail_breaches(con: duckdb.DuckDBPyConnection) -> dict[str, str] | None:
    """segment_name -> breached guardrails, for breaching segments; None when not built."""
    if not relation_exists(con, "marts", "segment_email_health"):
        return None
    return {
        name: str(breached or "guardrails breached")
        for name, breached in con.execute(
            "select segment_name, breached_guardrails from marts.segment_email_health "
            "where is_breach"
        ).fetchall()
    }


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


def _export_segment(
    con: duckdb.DuckDBPyConnection,
    name: str,
    path: Path,
    include_non_emailable: bool,
) -> SegmentExport:
    members, emailable, with_email, emailable_with_email = con.execute(
        """
        select
            count(*),
            count(*) filter (where s.is_emailable),
            count(*) filter (where c.email is not null),
            count(*) filter (where s.is_emailable and c.email is not null)
        from marts.customer_segments as s
        left join staging.stg_shop__customers as c on c.customer_id = s.customer_id
        where s.segment_name = ?
        """,
        [name],
    ).fetchone()
    emailable_filter = "" if include_non_emailable else "and s.is_emailable"
    query = f"""
        select
        {_select_list()}
        from marts.customer_segments as s
        inner join marts.customer_predictions as p on p.customer_id = s.customer_id
        inner join staging.stg_shop__customers as c on c.customer_id = s.customer_id
        where s.segment_name = {_sql_text(name)} and c.email is not null {emailable_filter}
        order by p.customer_id
    """
    rows = _copy_to_csv(con, query, path)
    if include_non_emailable:
        audience, audience_with_email = members, with_email
    else:
        audience, audience_with_email = emailable, emailable_with_email
    return SegmentExport(
        segment_name=name,
        status="written",
        path=str(path),
        rows_written=rows,
        members=int(members),
        emailable_members=int(emailable),
        left_out_not_emailable=int(members - audience),
        left_out_without_email=int(audience - audience_with_email),
    )


def _export_profile_properties(con: duckdb.DuckDBPyConnection, path: Path) -> dict:
    query = f"""
        select
        {_select_list()}
        from marts.customer_predictions as p
        inner join staging.stg_shop__customers as c on c.customer_id = p.customer_id
        where c.email is not null
        order by p.customer_id
    """
    rows = _copy_to_csv(con, query, path)
    (customers,) = con.execute("select count(*) from marts.customer_predictions").fetchone()
    return {
        "path": str(path),
        "rows_written": rows,
        "customers": int(customers),
        "left_out_without_email": int(customers - rows),
    }


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
    or when segments are asked for and the segment marts are not built."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with connect_read_only(database) as con:
        for needed in ("customer_predictions",):
            if not relation_exists(con, "marts", needed):
                raise FileNotFoundError(f"marts.{needed} not built in {database}: run dbt build")
        segments_built = relation_exists(con, "marts", "customer_segments") and relation_exists(
            con, "marts", "segment_summary"
        )
        (as_of,) = con.execute("select max(as_of_date) from marts.customer_predictions").fetchone()
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
            columns=[header for header, _, _ in KLAVIYO_COLUMNS],
        )
        if not segments_built:
            if segments:
                raise ValueError(
                    "segments not built (marts.customer_segments / marts.segment_summary "
                    f"missing in {database}): cannot export {', '.join(segments)}"
                )
            progress("segments not built (marts.segment_summary missing): profile properties only")
        else:
            breaches = _guardrail_breaches(con)
            result.guardrails_checked = breaches is not None
            if breaches is None:
                progress("guardrails not checked: marts.segment_email_health is not built")
                breaches = {}
            names = _segment_names(con, segments)
            audience = "all members" if include_non_emailable else "emailable members"
            progress(f"exporting {len(names)} segments ({audience}) into {out}")
            for index, name in enumerate(names, start=1):
                path = out / _file_name(name)
                breached = breaches.get(name)
                if breached and not force:
                    removed = path.exists()
                    if removed:
                        path.unlink()
                    result.segments.append(
                        SegmentExport(
                            segment_name=name,
                            status="skipped_guardrails",
                            path=None,
                            breached_guardrails=breached,
                            removed_stale_file=removed,
                        )
                    )
                    progress(
                        f"[{index}/{len(names)}] {name}: SKIPPED, email guardrails breached "
                        f"({breached}); --force exports it anyway"
                        + (f"; removed the earlier {path.name}" if removed else "")
                    )
                    continue
                export = _export_segment(con, name, path, include_non_emailable)
                if breached:
                    export.status = "forced"
                    export.breached_guardrails = breached
                result.segments.append(export)
                progress(
                    f"[{index}/{len(names)}] {name}: {export.rows_written:,} rows of "
                    f"{export.members:,} members -> {path}"
                    + (f" (FORCED despite {breached})" if breached else "")
                )
        result.profile_properties = _export_profile_properties(con, out / PROFILE_PROPERTIES_NAME)
        progress(
            f"profile properties: {result.profile_properties['rows_written']:,} customers "
            f"-> {result.profile_properties['path']}"
        )
    manifest = {
        **{k: v for k, v in asdict(result).items() if k not in ("segments",)},
        "column_mapping": {header: column for header, column, _ in KLAVIYO_COLUMNS},
        "segments": [asdict(s) for s in result.segments],
    }
    Path(result.manifest_path).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return result

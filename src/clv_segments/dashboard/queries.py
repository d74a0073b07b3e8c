"""What the dashboard shows, read from the public marts of a warehouse file and the manifest.

Every figure is a mart column or an aggregate of one; nothing is recomputed from staging or
intermediate tables (the days since the last order, which seed 002's example profiles select
on, is marts.customer_predictions.days_since_last_order).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb

from clv_segments.activation.exports import unchecked_reason
from clv_segments.dashboard.charts import HistogramBin
from clv_segments.dashboard.formats import clv_bin_edges
from clv_segments.warehouse import connect_read_only, relation_exists

DEFAULT_MANIFEST_PATH = Path("target/manifest.json")
CHART_KINDS = ("clv_tier", "aov_tier", "persona")
"""segment_summary kinds drawn in the sizes-and-revenue chart, in this order."""


@dataclass(frozen=True)
class ExampleRule:
    """Seed 002's example-profile rule: a valid-order count range and a recency condition on
    d = days since the last valid order (as_of_date minus its UTC date)."""

    number: int
    description: str
    min_orders: int
    max_orders: int | None
    recent_within_days: int | None = None  # d < N ("within the last N days")
    older_than_days: int | None = None  # d > N ("more than N days ago")

    def where_clause(self) -> tuple[str, list[Any]]:
        """SQL condition on customer_predictions (with a days_since_last_order column)."""
        conditions, params = ["historic_number_of_orders >= ?"], [self.min_orders]
        if self.max_orders is not None:
            conditions.append("historic_number_of_orders <= ?")
            params.append(self.max_orders)
        if self.recent_within_days is not None:
            conditions.append("days_since_last_order < ?")
            params.append(self.recent_within_days)
        if self.older_than_days is not None:
            conditions.append("days_since_last_order > ?")
            params.append(self.older_than_days)
        return " and ".join(conditions), params


EXAMPLE_PROFILE_RULES: tuple[ExampleRule, ...] = (
    ExampleRule(1, "More than 3 orders, the last one within the last 90 days", 4, None, 90, None),
    ExampleRule(2, "2 orders, the last one within the last 90 days", 2, 2, 90, None),
    ExampleRule(3, "1 order, placed within the last 60 days", 1, 1, 60, None),
    ExampleRule(4, "More than 3 orders, the last one more than 180 days ago", 4, None, None, 180),
    ExampleRule(5, "1 order, placed more than 60 days ago", 1, 1, None, 60),
)


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> list[dict]:
    cursor = con.execute(sql, list(params))
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _example_profile(con: duckdb.DuckDBPyConnection, rule: ExampleRule) -> tuple[dict | None, int]:
    condition, params = rule.where_clause()
    sql = f"""
        with matches as (
            select *, prediction_status = 'scored' as is_scored
            from marts.customer_predictions
            where historic_number_of_orders > 0 and {condition}
        ),
        ranked as (
            select
                *,
                row_number() over (
                    partition by is_scored order by predicted_clv, customer_id
                ) as position,
                count(*) over (partition by is_scored) as n_same,
                count(*) over () as n_matches
            from matches
        )
        select * from ranked
        where position = (n_same + 1) // 2
        order by is_scored desc
        limit 1
    """
    found = _rows(con, sql, params)
    if not found:
        return None, 0
    return found[0], int(found[0]["n_matches"])


@dataclass(frozen=True)
class SegmentGuardrails:
    """One row of marts.segment_email_health, as the segments table shows it."""

    status: str | None  # ok | breach | no_history_yet
    breached: str = ""
    not_checked_because: str = ""


@dataclass(frozen=True)
class Forecaster:
    """One forecaster of marts.clv_backtest_metrics (a candidate model, a naive baseline or the
    hindsight ceiling) with its metrics."""

    model: str
    kind: str  # model | baseline | ceiling
    is_chosen: bool
    status: str  # measured | history_too_short | fit_failed
    status_detail: str
    metrics: Mapping[str, float | None]
    calibration_date: date
    as_of_date: date
    holdout_days: int

    @property
    def measured(self) -> bool:
        return self.status == "measured"


@dataclass
class DashboardData:
    generated_at: datetime
    database: str
    kpis: dict[str, Any] = field(default_factory=dict)
    current_fit: list[dict] = field(default_factory=list)  # clv_model_diagnostics, current
    model_choice: dict = field(default_factory=dict)  # model_name, choice_reason
    backtest: list[Forecaster] = field(default_factory=list)  # clv_backtest_metrics, pivoted
    calibration: list[dict] = field(default_factory=list)  # clv_backtest_calibration
    examples: list[tuple[ExampleRule, dict | None, int]] = field(default_factory=list)
    clv_bins: list[HistogramBin] = field(default_factory=list)
    churn_counts: dict[str, int] = field(default_factory=dict)
    segments: list[dict] | None = None  # None: segment_summary not built
    guardrails: dict[str, SegmentGuardrails] | None = None  # None: segment_email_health not built
    segment_sizes: list[dict] | None = None
    exposures: list[dict] | None = None  # None: no manifest
    missing: dict[str, str] = field(default_factory=dict)  # card -> why it is empty


def _load_predictions(con: duckdb.DuckDBPyConnection, data: DashboardData) -> None:
    data.kpis = _rows(
        con,
        """
        select
            count(*) as customers,
            count(*) filter (where historic_number_of_orders > 0) as buyers,
            count(*) filter (where prediction_status = 'scored') as scored,
            sum(historic_clv) as historic_clv_total,
            sum(predicted_clv) as predicted_clv_total,
            count(*) filter (where churn_risk = 'high') as high_churn_risk,
            max(as_of_date) as as_of_date,
            max(prediction_window_days) as prediction_window_days
        from marts.customer_predictions
        """,
    )[0]
    for rule in EXAMPLE_PROFILE_RULES:
        profile, n_matches = _example_profile(con, rule)
        data.examples.append((rule, profile, n_matches))
    (p05, largest) = con.execute(
        "select quantile_cont(predicted_clv, 0.05), max(predicted_clv) "
        "from marts.customer_predictions where prediction_status = 'scored'"
    ).fetchone()
    if largest is not None:
        edges = clv_bin_edges(float(p05), float(largest))
        cases = " ".join(
            f"when predicted_clv < {edge!r} then {index}" for index, edge in enumerate(edges[1:])
        )
        counts = dict(
            con.execute(
                f"select case {cases} else {len(edges) - 2} end as bin, count(*) "
                "from marts.customer_predictions where prediction_status = 'scored' group by 1"
            ).fetchall()
        )
        data.clv_bins = [
            HistogramBin(low=low, high=high, count=int(counts.get(index, 0)))
            for index, (low, high) in enumerate(zip(edges[:-1], edges[1:], strict=True))
        ]
    data.churn_counts = dict(
        con.execute(
            "select coalesce(churn_risk, 'no prediction'), count(*) "
            "from marts.customer_predictions group by 1"
        ).fetchall()
    )


def _load_segments(con: duckdb.DuckDBPyConnection, data: DashboardData) -> None:
    data.segments = _rows(
        con,
        """
        select
            segment_name, segment_kind, description, members, emailable_members,
            clv_attributes_used, revenue_share, membership_last_changed_at
        from marts.segment_summary
        order by segment_name
        """,
    )
    if relation_exists(con, "marts", "segment_email_health"):
        data.guardrails = {
            name: SegmentGuardrails(
                status=status,
                breached=(breached or "guardrails breached") if status == "breach" else "",
                not_checked_because=(
                    unchecked_reason(starts_on, int(window_days), window_starts_on)
                    if status == "no_history_yet"
                    else ""
                ),
            )
            for name, status, breached, starts_on, window_days, window_starts_on in con.execute(
                "select segment_name, guardrail_status, breached_guardrails, history_starts_on, "
                "health_window_days, window_starts_on from marts.segment_email_health"
            ).fetchall()
        }
    kinds = ", ".join(f"'{kind}'" for kind in CHART_KINDS)
    data.segment_sizes = _rows(
        con,
        f"""
        select segment_name, segment_kind, members, revenue_share
        from marts.segment_summary
        where segment_kind in ({kinds})
        order by segment_kind, catalog_position, segment_name
        """,
    )


def _load_exposures(manifest_path: Path) -> list[dict]:
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    exposures = []
    for exposure in manifest.get("exposures", {}).values():
        models = sorted(
            node.split(".")[-1]
            for node in exposure.get("depends_on", {}).get("nodes", [])
            if node.startswith("model.")
        )
        meta = exposure.get("meta") or exposure.get("config", {}).get("meta") or {}
        owner = exposure.get("owner") or {}
        exposures.append(
            {
                "name": exposure.get("label") or exposure["name"],
                "type": exposure.get("type", ""),
                "maturity": exposure.get("maturity") or "",
                "owner": owner.get("name") or owner.get("email") or "",
                "models": models,
                "clv_attributes_used": meta.get("clv_attributes_used", []),
                "description": exposure.get("description", ""),
            }
        )
    return sorted(exposures, key=lambda e: e["name"])


CANDIDATE_MODELS = ("bgnbd", "pareto_nbd", "mbgnbd")
BASELINES = ("zero", "past_rate", "spend_rank", "average_gap")
FORECASTER_KINDS = ("model", "baseline", "ceiling")


def _current_fit(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """The fit the predictions use: clv_model_diagnostics' fit_scope current rows (the chosen
    purchase model and Gamma-Gamma)."""
    return _rows(
        con,
        """
        select *
        from marts.clv_model_diagnostics
        where fit_scope = 'current'
        order by model_role, model_name
        """,
    )


def _model_choice(con: duckdb.DuckDBPyConnection) -> dict:
    """The chosen purchase model and why, from any clv_model_diagnostics row that has them (the
    card still says why when the current purchase-model row is missing); {} if none."""
    rows = _rows(
        con,
        """
        select model_name, choice_reason
        from marts.clv_model_diagnostics
        where is_chosen
            and choice_reason is not null
        order by fit_scope desc, model_name
        """,
    )
    return rows[0] if rows else {}


def forecaster_position(model: str, kind: str) -> tuple:
    """Candidates, then baselines, then the ceiling; each in the marts' documented order."""
    known = CANDIDATE_MODELS if kind == "model" else BASELINES if kind == "baseline" else ()
    kind_position = (
        FORECASTER_KINDS.index(kind) if kind in FORECASTER_KINDS else len(FORECASTER_KINDS)
    )
    position = known.index(model) if model in known else len(known)
    return kind_position, position, model


def _backtest_metrics(con: duckdb.DuckDBPyConnection) -> list[Forecaster]:
    """marts.clv_backtest_metrics (one row per forecaster and metric), one Forecaster each."""
    rows = _rows(
        con,
        """
        select
            model, model_kind, metric, value, is_chosen, backtest_status, status_detail,
            calibration_date, as_of_date, holdout_days
        from marts.clv_backtest_metrics
        order by model, metric
        """,
    )
    by_model: dict[str, list[dict]] = {}
    for row in rows:
        by_model.setdefault(str(row["model"]), []).append(row)
    forecasters = []
    for model, model_rows in by_model.items():
        first = model_rows[0]
        statuses = {str(row["backtest_status"]) for row in model_rows}
        status = "measured" if statuses == {"measured"} else sorted(statuses - {"measured"})[0]
        details = sorted({str(row["status_detail"]) for row in model_rows if row["status_detail"]})
        forecasters.append(
            Forecaster(
                model=model,
                kind=str(first["model_kind"]),
                is_chosen=any(bool(row["is_chosen"]) for row in model_rows),
                status=status,
                status_detail="; ".join(details),
                metrics={str(row["metric"]): row["value"] for row in model_rows},
                calibration_date=first["calibration_date"],
                as_of_date=first["as_of_date"],
                holdout_days=int(first["holdout_days"]),
            )
        )
    return sorted(forecasters, key=lambda f: forecaster_position(f.model, f.kind))


def _backtest_not_run(forecasters: Sequence[Forecaster]) -> str:
    """Why the backtest has nothing to show ("" when a candidate model was measured)."""
    candidates = [f for f in forecasters if f.kind == "model"]
    if any(f.measured for f in candidates):
        return ""
    if not candidates:
        return "The backtest scored no candidate model: marts.clv_backtest_metrics has none."
    details = "; ".join(sorted({f.status_detail for f in candidates if f.status_detail}))
    if any(f.status == "history_too_short" for f in candidates):
        return f"History too short to backtest: {details or 'a readiness check failed'}."
    return f"The backtest did not run, every candidate's fit failed: {details or 'no detail'}."


def _backtest_calibration(con: duckdb.DuckDBPyConnection) -> list[dict]:
    return _rows(
        con,
        """
        select
            model, churn_band, band_lower, band_upper, customers, mean_predicted_churn,
            observed_churn_share, is_chosen
        from marts.clv_backtest_calibration
        order by model, churn_band
        """,
    )


def load_dashboard_data(
    database: str | Path,
    manifest_path: str | Path | None = DEFAULT_MANIFEST_PATH,
    generated_at: datetime | None = None,
) -> DashboardData:
    """Everything the page shows, read from the warehouse file and the manifest."""
    data = DashboardData(generated_at=generated_at or datetime.now(UTC), database=str(database))
    with connect_read_only(database) as con:
        if relation_exists(con, "marts", "customer_predictions"):
            _load_predictions(con, data)
        else:
            data.missing["predictions"] = "marts.customer_predictions not built: run dbt build."
        if relation_exists(con, "marts", "clv_model_diagnostics"):
            data.current_fit = _current_fit(con)
            data.model_choice = _model_choice(con)
        else:
            data.missing["model"] = "marts.clv_model_diagnostics not built: run dbt build."
        if relation_exists(con, "marts", "clv_backtest_metrics"):
            data.backtest = _backtest_metrics(con)
            not_run = _backtest_not_run(data.backtest)
            if not_run:
                data.missing["backtest"] = not_run
        else:
            data.missing["backtest"] = "marts.clv_backtest_metrics not built: run dbt build."
        if "backtest" not in data.missing:
            if relation_exists(con, "marts", "clv_backtest_calibration"):
                data.calibration = _backtest_calibration(con)
                if not data.calibration:
                    data.missing["calibration"] = (
                        "marts.clv_backtest_calibration has no row: no candidate predicted a "
                        "churn probability at the calibration date."
                    )
            else:
                data.missing["calibration"] = (
                    "marts.clv_backtest_calibration not built: run dbt build."
                )
        if relation_exists(con, "marts", "segment_summary"):
            _load_segments(con, data)
        else:
            data.missing["segments"] = "Segments not built: marts.segment_summary is missing."
    if manifest_path is not None and Path(manifest_path).is_file():
        data.exposures = _load_exposures(Path(manifest_path))
    else:
        data.missing["exposures"] = (
            f"No dbt manifest at {manifest_path}: run dbt parse (or dbt docs generate)."
        )
    return data

"""The backtest every build makes, as printed by ``clv-segments backtest``: read from the marts.

Every ``dbt build`` fits the candidate purchase models as of ``as_of_date - clv_backtest_days`` and
scores them on what customers did since (models/intermediate/clv/int_clv_backtest_*). This module
only reads the public marts that holds: ``marts.clv_backtest_metrics`` (one row per forecaster and
metric, the chosen model marked) and ``marts.clv_model_diagnostics`` (the current fit and the
backtest's calibration fit, with their parameters), and prints them as two tables.

`FHL_2005_REFERENCE` holds the published CDNOW figures the pipeline reproduces: the backtest's
calibration fit on the CDNOW sample in weeks, with ``clv_backtest_days`` 273 from 1998-06-30, is
fitted on exactly Fader, Hardie and Lee's calibration period (1997-01-01 to 1997-09-30).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd

from clv_segments.warehouse import MARTS_SCHEMA, connect_read_only, relation_exists

__all__ = [
    "FHL_2005_REFERENCE",
    "KEY_METRICS",
    "REFERENCES",
    "ModelCard",
    "Reference",
    "format_model_card",
    "read_model_card",
    "reference_comparison",
]

FHL_2005_REFERENCE: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {
        "bgnbd": MappingProxyType(
            {
                # Fader, Hardie and Lee (2005), "Counting your customers the easy way",
                # Marketing Science 24(2): CDNOW 1/10th sample, 2,357 customers of the first
                # quarter 1997 cohort, weekly units, 39-week calibration period.
                "r": 0.243,
                "alpha": 4.414,
                "a": 0.793,
                "b": 2.426,
                "log_likelihood": -9582.4,
                "n_customers": 2357,
                "time_unit": "week",
                "calibration_weeks": 39,
            }
        ),
        "gamma_gamma": MappingProxyType(
            {
                # Fader, Hardie and Lee (2005), "RFM and CLV: using iso-value curves",
                # JMR 42(4), and Hardie's note 025: the 946 repeat customers of the same 2,357
                # sample, mean spend of their repeat purchases in the calibration period.
                # The maximum likelihood v is 15.4477 (lifetimes' docs print 15.45); the
                # paper's 15.44 is the same optimum truncated, so compare to within 0.01.
                "p": 6.25,
                "q": 3.74,
                "v": 15.44,
                "n_customers": 946,
                "frequency_spend_correlation": 0.11,
                "sample": "the 2,357-customer CDNOW sample with its spend",
            }
        ),
    }
)

# Published precision of each figure: ours is rounded to it before the comparison.
_FHL_2005_DECIMALS = {
    ("bgnbd", "r"): 3,
    ("bgnbd", "alpha"): 3,
    ("bgnbd", "a"): 3,
    ("bgnbd", "b"): 3,
    ("bgnbd", "log_likelihood"): 1,
    ("bgnbd", "n_customers"): 0,
    ("gamma_gamma", "p"): 2,
    ("gamma_gamma", "q"): 2,
    ("gamma_gamma", "v"): 2,
    ("gamma_gamma", "n_customers"): 0,
}


@dataclass(frozen=True)
class Reference:
    """Published figures of a fit, to print beside the backtest's calibration fit."""

    source: str
    calibration_date: date
    time_unit: str
    figures: Mapping[str, Mapping[str, Any]]
    decimals: Mapping[tuple[str, str], int]
    """(model, figure) -> published decimals; only these figures are compared."""


REFERENCES: Mapping[str, Reference] = MappingProxyType(
    {
        "fhl2005": Reference(
            source="Fader, Hardie and Lee (2005), CDNOW sample (2,357 customers), weeks, "
            "calibration 1997-01-01 to 1997-09-30",
            calibration_date=date(1997, 9, 30),
            time_unit="week",
            figures=FHL_2005_REFERENCE,
            decimals=MappingProxyType(_FHL_2005_DECIMALS),
        )
    }
)
"""Published figures ``clv-segments backtest --reference`` can print beside the backtest's fit."""

KEY_METRICS: tuple[tuple[str, str, int], ...] = (
    # (metric of clv_backtest_metrics, column heading, decimals)
    ("predicted_purchases", "purchases", 1),
    ("poisson_deviance", "deviance", 4),
    ("rmse", "rmse", 3),
    ("mae", "mae", 3),
    ("predicted_revenue", "revenue", 0),
    ("top_decile_revenue_share", "top 10%", 3),
    ("spearman_revenue", "spearman", 3),
    ("churn_brier", "brier", 3),
    ("interval_coverage", "coverage", 3),
    ("interval_expected_coverage", "expected", 3),
    ("next_order_within_14_days", "next ±14d", 3),
)
"""The columns of the printed metrics table, one per forecaster row."""

PARAMETERS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "bgnbd": ("r", "alpha", "a", "b"),
        "mbgnbd": ("r", "alpha", "a", "b"),
        "pareto_nbd": ("r", "alpha", "s", "beta"),
        "gamma_gamma": ("p", "q", "v"),
    }
)
_KIND_ORDER = {"model": 0, "baseline": 1, "ceiling": 2}
_BASELINE_ORDER = ("zero", "past_rate", "average_gap", "spend_rank", "hindsight")
_DIAGNOSTIC_COLUMNS = (
    "fit_scope",
    "model_name",
    "model_role",
    "fitted_as_of",
    "status",
    "status_detail",
    *sorted({f"param_{name}" for names in PARAMETERS.values() for name in names}),
    "log_likelihood",
    "n_customers",
    "is_chosen",
    "choice_reason",
    "failed_readiness_checks",
    "time_unit",
)


@dataclass(frozen=True)
class ModelCard:
    """What the two marts say about one build's backtest and fits."""

    database: Path
    metrics: pd.DataFrame
    """marts.clv_backtest_metrics: model, model_kind, metric, value, is_chosen, backtest_status,
    status_detail."""
    diagnostics: pd.DataFrame
    """marts.clv_model_diagnostics: one row per fit scope and model (the columns printed)."""
    calibration_date: date
    as_of_date: date
    holdout_days: int
    time_unit: str

    @property
    def chosen_model(self) -> str | None:
        chosen = self.metrics.loc[self.metrics["is_chosen"], "model"].unique()
        return str(chosen[0]) if len(chosen) else None

    @property
    def choice_reason(self) -> str | None:
        rows = self.diagnostics.loc[
            (self.diagnostics["fit_scope"] == "current")
            & self.diagnostics["is_chosen"].fillna(False)
        ]
        return str(rows["choice_reason"].iloc[0]) if len(rows) else None

    def value(self, model: str, metric: str) -> float | None:
        """One figure of clv_backtest_metrics; None when absent or null."""
        rows = self.metrics.loc[
            (self.metrics["model"] == model) & (self.metrics["metric"] == metric)
        ]
        if rows.empty or pd.isna(rows["value"].iloc[0]):
            return None
        return float(rows["value"].iloc[0])

    def fit(self, fit_scope: str, model_name: str) -> dict[str, Any] | None:
        """The diagnostics row of one fit (``current`` or ``backtest``) and model, or None."""
        rows = self.diagnostics.loc[
            (self.diagnostics["fit_scope"] == fit_scope)
            & (self.diagnostics["model_name"] == model_name)
        ]
        return rows.iloc[0].to_dict() if len(rows) else None


def read_model_card(database: str | Path) -> ModelCard:
    """Read marts.clv_backtest_metrics and marts.clv_model_diagnostics of a built warehouse.

    FileNotFoundError (naming the file or the mart) when the file or a mart is missing.
    """
    database = Path(database)
    with connect_read_only(database) as con:
        for mart in ("clv_backtest_metrics", "clv_model_diagnostics"):
            if not relation_exists(con, MARTS_SCHEMA, mart):
                raise FileNotFoundError(
                    f"{MARTS_SCHEMA}.{mart} not built in {database}: build the project first "
                    "(clv-segments run, or dbt build)"
                )
        metrics = con.execute(
            "select model, model_kind, metric, value, is_chosen, backtest_status, status_detail, "
            "calibration_date, as_of_date, holdout_days "
            f"from {MARTS_SCHEMA}.clv_backtest_metrics order by model, metric"
        ).df()
        diagnostics = con.execute(
            f"select {', '.join(_DIAGNOSTIC_COLUMNS)} "
            f"from {MARTS_SCHEMA}.clv_model_diagnostics order by fit_scope, model_role, model_name"
        ).df()
    if metrics.empty:
        raise FileNotFoundError(f"{MARTS_SCHEMA}.clv_backtest_metrics in {database} has no rows")
    first = metrics.iloc[0]
    time_units = diagnostics["time_unit"].dropna().unique()
    return ModelCard(
        database=database,
        metrics=metrics,
        diagnostics=diagnostics,
        calibration_date=pd.Timestamp(first["calibration_date"]).date(),
        as_of_date=pd.Timestamp(first["as_of_date"]).date(),
        holdout_days=int(first["holdout_days"]),
        time_unit=str(time_units[0]) if len(time_units) else "day",
    )


# --- the printed card ----------------------------------------------------------------------------


def _number(value: Any, decimals: int) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:,.{decimals}f}"


def _forecasters(card: ModelCard) -> list[tuple[str, str]]:
    """(model, kind) in print order: candidates by holdout deviance, then baselines, ceiling."""
    kinds = card.metrics.groupby("model")["model_kind"].first()
    deviance = {model: card.value(model, "poisson_deviance") for model in kinds.index}

    def key(model: str) -> tuple:
        kind = kinds[model]
        baseline = (
            _BASELINE_ORDER.index(model) if model in _BASELINE_ORDER else len(_BASELINE_ORDER)
        )
        measured = deviance[model] if deviance[model] is not None else math.inf
        return (_KIND_ORDER.get(kind, 3), measured if kind == "model" else baseline, model)

    return [(model, str(kinds[model])) for model in sorted(kinds.index, key=key)]


def _metrics_table(card: ModelCard) -> list[str]:
    width = 11
    header = f"  {'forecaster':<12}{'kind':<10}" + "".join(
        f"{heading:>{width}}" for _, heading, _ in KEY_METRICS
    )
    lines = [header]
    for model, kind in _forecasters(card):
        rows = card.metrics.loc[card.metrics["model"] == model]
        mark = "*" if rows["is_chosen"].any() else " "
        status = rows["backtest_status"].iloc[0]
        label = f"{mark} {model:<12}{kind:<10}"
        if status != "measured":
            detail = rows["status_detail"].dropna()
            lines.append(f"{label}{status}: {detail.iloc[0] if len(detail) else 'no detail'}")
            continue
        lines.append(
            label
            + "".join(
                f"{_number(card.value(model, metric), decimals):>{width}}"
                for metric, _, decimals in KEY_METRICS
            )
        )
    return lines


def _parameters_text(row: Mapping[str, Any]) -> str:
    names = PARAMETERS.get(str(row["model_name"]), ())
    return "  ".join(
        f"{name} {_number(row.get(f'param_{name}'), 4)}"
        for name in names
        if not pd.isna(row.get(f"param_{name}"))
    )


def _parameters_table(card: ModelCard) -> list[str]:
    lines = [
        f"  {'fit':<10}{'model':<13}{'as of':<12}{'status':<11}{'log-lik':>12}{'customers':>11}"
        "  parameters"
    ]
    for row in card.diagnostics.to_dict("records"):
        mark = "*" if row["fit_scope"] == "current" and row["is_chosen"] else " "
        fitted = row["status"] == "fitted"
        lines.append(
            f"{mark} {row['fit_scope']:<10}{row['model_name']:<13}"
            f"{pd.Timestamp(row['fitted_as_of']).date().isoformat():<12}{row['status']:<11}"
            f"{_number(row['log_likelihood'], 1):>12}{_number(row['n_customers'], 0):>11}  "
            + (_parameters_text(row) if fitted else str(row["status_detail"] or ""))
        )
    return lines


def reference_comparison(card: ModelCard, name: str = "fhl2005") -> list[dict[str, Any]]:
    """The backtest's calibration fit beside a published reference, one row per figure: model,
    figure, ours (None when not fitted), published, decimals, and whether ours rounded to the
    published decimals equals the published value."""
    reference = REFERENCES[name]
    rows = []
    for (model, figure), decimals in reference.decimals.items():
        published = reference.figures[model][figure]
        fit = card.fit("backtest", model) or {}
        ours = fit.get(f"param_{figure}", fit.get(figure))
        ours = None if ours is None or pd.isna(ours) else float(ours)
        matches = ours is not None and abs(round(ours, decimals) - published) < 10 ** -(
            decimals + 3
        )
        rows.append(
            {
                "model": model,
                "figure": figure,
                "ours": ours,
                "published": published,
                "decimals": decimals,
                "matches": matches,
            }
        )
    return rows


def _reference_table(card: ModelCard, name: str) -> list[str]:
    reference = REFERENCES[name]
    lines = [
        f"Published: {reference.source}; beside the backtest's calibration fit",
        f"  {'figure':<26}{'ours':>14}{'published':>14}  match",
    ]
    for row in reference_comparison(card, name):
        ours = _number(row["ours"], 4 if row["decimals"] else 0)
        lines.append(
            f"  {row['model'] + ' ' + row['figure']:<26}{ours:>14}"
            f"{_number(row['published'], row['decimals']):>14}  {'yes' if row['matches'] else 'NO'}"
        )
    if (card.calibration_date, card.time_unit) != (reference.calibration_date, reference.time_unit):
        lines.append(
            f"  note: this build's backtest is fitted as of {card.calibration_date} in "
            f"{card.time_unit}s, the published fit as of {reference.calibration_date} in "
            f"{reference.time_unit}s"
        )
    return lines


def format_model_card(card: ModelCard, reference: str | None = None) -> str:
    """The backtest metrics table and the fits' parameters as text (optionally a reference)."""
    actual_purchases = card.metrics.loc[card.metrics["metric"] == "actual_purchases", "value"]
    actual_revenue = card.metrics.loc[card.metrics["metric"] == "actual_revenue", "value"]
    customers = card.metrics.loc[card.metrics["metric"] == "customers", "value"]
    lines = [
        f"Backtest of {card.database} (marts.clv_backtest_metrics): candidates fitted as of "
        f"{card.calibration_date}, scored on the {card.holdout_days} days to {card.as_of_date}; "
        f"time unit {card.time_unit}",
        f"  {_number(customers.max() if len(customers) else None, 0)} customers; in the holdout "
        f"they made {_number(actual_purchases.max() if len(actual_purchases) else None, 0)} "
        f"purchases (days with a valid order) worth "
        f"{_number(actual_revenue.max() if len(actual_revenue) else None, 2)}",
        "",
        *_metrics_table(card),
        "  * chosen; purchases and revenue are predicted holdout totals; deviance is the mean "
        "Poisson deviance",
        "    (the auto choice), brier the churn Brier score, coverage the share inside the "
        "prediction interval",
        "",
        f"Chosen purchase model: {card.chosen_model or 'none'}"
        + (f" ({card.choice_reason})" if card.choice_reason else ""),
        "",
        "Fits (marts.clv_model_diagnostics): current = the predictions' fit as of "
        f"{card.as_of_date}; backtest = as of {card.calibration_date}",
        *_parameters_table(card),
    ]
    if reference is not None:
        lines += ["", *_reference_table(card, reference)]
    return "\n".join(lines)

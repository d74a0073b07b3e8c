"""The CLV step of the dbt project, as pure functions of DataFrames (testable without dbt).

Three candidate purchase models (`clv_segments.clv.purchase_models.MODEL_NAMES`: bgnbd, pareto_nbd,
mbgnbd) can be fitted on the cells, and Gamma-Gamma on the repeat customers:

- `fit_backtest` is the calibration fit of the model card: every purchase model and
  Gamma-Gamma, fitted as of the calibration end; its scores are compared with the holdout in SQL,
  which picks a model (``int_clv_model_chosen``) when the var ``clv_model`` is ``auto``;
- `fit_clv` fits the chosen purchase model, and Gamma-Gamma, on today's cells.

Both return the fit as a long table, one row per (model, metric) in `FIT_COLUMNS`: the parameters
with their standard errors, the log-likelihood, convergence, sizes and timings, plus the ``clv``
rows with the settings the scores use. `score_cells_from_fit` scores every cell once per fitted
purchase model. The dbt Python models in python_models/ are thin wrappers around them, and SQL
turns the tables into the marts.

A model that is not ready (readiness gate) or whose fit fails on every penalizer gets a status row
('not_ready', 'failed') with the reason, and no parameters: the predictions become null, never
zeros. `fit_clv` holds rows for the chosen purchase model only.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from clv_segments.clv.bgnbd import ClvFitError, time_unit_days
from clv_segments.clv.gamma_gamma import fit_gamma_gamma
from clv_segments.clv.purchase_models import (
    MODEL_NAMES,
    PARAM_NAMES,
    PurchaseModelFit,
    fit_purchase_model,
    score_purchase_model,
)
from clv_segments.clv.scoring import discount_factor

__all__ = [
    "FIT_COLUMNS",
    "MODEL_CHOICES",
    "SCORE_COLUMNS",
    "ClvSettings",
    "fit_backtest",
    "fit_clv",
    "score_cells_from_fit",
]

FIT_COLUMNS = ["model_name", "metric", "value", "std_error", "detail"]
FIT_DTYPES = {
    "model_name": "string",
    "metric": "string",
    "value": "float64",
    "std_error": "float64",
    "detail": "string",
}
SCORE_COLUMNS = [
    "model_name",
    "cell_id",
    "expected_purchases",
    "probability_alive",
    "churn_probability",
    "purchases_low",
    "purchases_high",
    "interval_probability",
    "days_to_next_purchase",
]
SCORE_DTYPES = {column: "float64" for column in SCORE_COLUMNS} | {
    "model_name": "string",
    "cell_id": "string",
}
MODEL_CHOICES: tuple[str, ...] = ("auto", *MODEL_NAMES)
"""Values of the var ``clv_model``: auto (the backtest chooses) or a purchase model."""

FALLBACK_MODEL = "bgnbd"
"""The purchase model fitted when nothing chose one (no int_clv_model_chosen row, var auto)."""


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() in ("", "None", "none"))


def _number(get: Callable[[str], Any], key: str, default: float, valid: Callable[[float], bool]):
    """A numeric config value: the default when missing, ValueError naming the var if invalid."""
    raw = get(key)
    if _missing(raw):
        return default
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value) or not valid(value):
        raise ValueError(f"var {key} has an invalid value {raw!r}")
    return value


@dataclass(frozen=True)
class ClvSettings:
    """The dbt vars the CLV step uses (defaults as in dbt_project.yml)."""

    prediction_days: float = 365
    churn_horizon_days: float = 90
    time_unit: str = "day"
    fit_sample_size: int | None = 100_000
    seed: int = 42
    penalizers: Sequence[float] = field(default=(0.0, 0.001, 0.01, 0.1))
    monthly_discount_rate: float = 0.0
    interval_level: float = 0.8
    next_order_probability: float = 0.5
    model: str = "auto"
    backtest_days: float = 90

    @classmethod
    def from_config(cls, get: Any) -> ClvSettings:
        """Build from a dbt Python model's `dbt.config.get` (values may arrive as strings).

        The model-card keys (clv_prediction_interval_level, clv_next_order_probability,
        clv_model, clv_backtest_days) take their defaults when missing; an invalid value raises
        ValueError naming the var.
        """
        penalizers = get("clv_penalizers")
        if isinstance(penalizers, str):
            penalizers = json.loads(penalizers.replace("'", '"'))
        sample_size = get("clv_fit_sample_size")
        model = get("clv_model")
        model = cls.model if _missing(model) else str(model).strip()
        if model not in MODEL_CHOICES:
            raise ValueError(
                f"var clv_model must be one of {', '.join(MODEL_CHOICES)}, got {model!r}"
            )
        return cls(
            prediction_days=float(get("clv_prediction_days")),
            churn_horizon_days=float(get("churn_horizon_days")),
            time_unit=str(get("clv_time_unit")),
            fit_sample_size=None if sample_size in (None, "", "None", 0, "0") else int(sample_size),
            seed=int(get("clv_fit_seed")),
            penalizers=tuple(float(p) for p in penalizers),
            monthly_discount_rate=float(get("clv_monthly_discount_rate") or 0.0),
            interval_level=_number(
                get, "clv_prediction_interval_level", cls.interval_level, lambda v: 0 < v < 1
            ),
            next_order_probability=_number(
                get, "clv_next_order_probability", cls.next_order_probability, lambda v: 0 < v < 1
            ),
            model=model,
            backtest_days=_number(get, "clv_backtest_days", cls.backtest_days, lambda v: v > 0),
        )


# --------------------------------------------------------------------------------------------
# The long fit table


def _rows(model_name: str, metrics: Mapping[str, Any], errors: Mapping[str, float] | None = None):
    errors = errors or {}
    for metric, value in metrics.items():
        if isinstance(value, (bool, np.bool_)):
            value = float(value)
        if isinstance(value, str):
            yield (model_name, metric, None, None, value)
        else:
            yield (
                model_name,
                metric,
                None if value is None else float(value),
                errors.get(metric),
                None,
            )


def _attempts_text(attempts) -> str:
    return json.dumps(
        [
            {
                "penalizer": a.penalizer,
                "converged": a.converged,
                "seconds": round(a.seconds, 3),
                "error": a.error,
            }
            for a in attempts
        ]
    )


def _table(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=FIT_COLUMNS).astype(FIT_DTYPES)


def _status(model_name: str, status: str, detail: str) -> list[tuple]:
    return list(_rows(model_name, {"status": status, "status_detail": detail}))


def _clv_rows(settings: ClvSettings, window_days: float, churn_days: float, **text: str):
    return list(
        _rows(
            "clv",
            {
                "time_unit_days": time_unit_days(settings.time_unit),
                "prediction_days": window_days,
                "churn_horizon_days": churn_days,
                "discount_factor": discount_factor(
                    settings.monthly_discount_rate or None, window_days
                ),
                "interval_level": settings.interval_level,
                "next_order_probability": settings.next_order_probability,
                **text,
            },
        )
    )


def _failed_checks(readiness: pd.DataFrame) -> str | None:
    failed = sorted(readiness.loc[~readiness["passed"].astype(bool), "check_name"])
    return "readiness checks failed: " + ", ".join(failed) if failed else None


def _sorted_inputs(cells: pd.DataFrame, repeat_customers: pd.DataFrame):
    # A fixed row order: the warehouse returns groups in any order, and the optimiser's last
    # digits depend on the order of the likelihood's terms. Reruns must give identical marts.
    cells = cells.rename(columns={"t": "T"}).sort_values(["frequency", "recency", "T"])
    repeat_customers = repeat_customers.sort_values(["frequency", "monetary_value"])
    return cells, repeat_customers


def _purchase_model_rows(model_name: str, cells: pd.DataFrame, settings: ClvSettings) -> list:
    try:
        fit: PurchaseModelFit = fit_purchase_model(
            model_name, cells, settings.fit_sample_size, settings.seed, settings.penalizers
        )
    except (ClvFitError, ValueError) as error:
        return _status(model_name, "failed", str(error))
    return list(
        _rows(
            model_name,
            {
                "status": "fitted",
                "status_detail": _attempts_text(fit.attempts),
                **fit.params,
                "log_likelihood": fit.log_likelihood,
                "converged": fit.converged,
                "penalizer": fit.penalizer,
                "fit_seconds": fit.fit_seconds,
                "n_cells": fit.n_cells,
                "n_cells_fitted": fit.n_cells_fitted,
                "n_customers": fit.n_customers,
                "n_customers_fitted": fit.n_customers_fitted,
                "sampled": fit.sampled,
            },
            fit.standard_errors,
        )
    )


def _gamma_gamma_rows(repeat_customers: pd.DataFrame, settings: ClvSettings) -> list:
    try:
        gg = fit_gamma_gamma(
            repeat_customers["frequency"],
            repeat_customers["monetary_value"],
            sample_size=settings.fit_sample_size,
            seed=settings.seed,
            penalizers=settings.penalizers,
        )
    except (ClvFitError, ValueError) as error:
        return _status("gamma_gamma", "failed", str(error))
    return list(
        _rows(
            "gamma_gamma",
            {
                "status": "fitted",
                "status_detail": _attempts_text(gg.attempts),
                **gg.params,
                "log_likelihood": gg.log_likelihood,
                "converged": gg.converged,
                "penalizer": gg.penalizer,
                "fit_seconds": gg.fit_seconds,
                "n_customers": gg.n_customers,
                "n_customers_fitted": gg.n_customers_fitted,
                "sampled": gg.sampled,
                "frequency_spend_correlation": gg.frequency_spend_correlation,
                "population_mean_order_value": gg.population_mean_order_value,
            },
            gg.standard_errors,
        )
    )


def _choose(settings: ClvSettings, chosen: pd.DataFrame | None) -> tuple[str, str]:
    """(purchase model, why) from int_clv_model_chosen, else from the var clv_model."""
    if chosen is not None and len(chosen) > 1:
        raise ValueError(f"int_clv_model_chosen: expected one row, got {len(chosen)}")
    if chosen is not None and len(chosen) == 1:
        row = chosen.iloc[0]
        name = row.get("model_name")
        if _missing(name) or (not isinstance(name, str) and pd.isna(name)):
            name = None
        if name not in MODEL_NAMES:
            raise ValueError(
                f"int_clv_model_chosen: model_name must be one of {', '.join(MODEL_NAMES)}, "
                f"got {name!r}"
            )
        reason = row.get("choice_reason")
        return name, "" if reason is None or pd.isna(reason) else str(reason)
    if settings.model != "auto":
        return settings.model, "forced by var clv_model"
    missing = "int_clv_model_chosen has no row" if chosen is not None else "no model was chosen"
    return FALLBACK_MODEL, f"var clv_model is auto but {missing}; fallback {FALLBACK_MODEL}"


def fit_clv(
    cells: pd.DataFrame,
    repeat_customers: pd.DataFrame,
    readiness: pd.DataFrame,
    settings: ClvSettings,
    chosen: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Fit the chosen purchase model and Gamma-Gamma; one row per (model_name, metric).

    Args:
        cells: frequency, recency, t (model time units), n_customers.
        repeat_customers: frequency and monetary_value of customers with a repeat purchase.
        readiness: check_name and passed, one row per readiness check.
        settings: the CLV vars.
        chosen: int_clv_model_chosen: one row, model_name (one of `MODEL_NAMES`) and
            choice_reason. None (or no row): the var clv_model when it names a model, else
            bgnbd. The clv rows purchase_model and purchase_model_choice say which and why.

    The other purchase models have no rows. Raises ValueError when ``chosen`` holds more than one
    row or an unknown model_name.
    """
    model_name, reason = _choose(settings, chosen)
    rows = _clv_rows(
        settings,
        settings.prediction_days,
        settings.churn_horizon_days,
        purchase_model=model_name,
        purchase_model_choice=reason,
    )
    not_ready = _failed_checks(readiness)
    if not not_ready:
        cells, repeat_customers = _sorted_inputs(cells, repeat_customers)
    if not_ready:
        rows += _status(model_name, "not_ready", not_ready)
    else:
        rows += _purchase_model_rows(model_name, cells, settings)
    if not_ready:
        rows += _status("gamma_gamma", "not_ready", not_ready)
    else:
        rows += _gamma_gamma_rows(repeat_customers, settings)
    return _table(rows)


def fit_backtest(
    cells: pd.DataFrame,
    repeat_customers: pd.DataFrame,
    readiness: pd.DataFrame,
    settings: ClvSettings,
) -> pd.DataFrame:
    """The calibration fit: every purchase model and Gamma-Gamma, in `fit_clv`'s format.

    ``cells``, ``repeat_customers`` and ``readiness`` are as of the calibration end. The clv rows
    give the holdout as the window: prediction_days = settings.backtest_days, churn_horizon_days
    = the smaller of settings.churn_horizon_days and backtest_days. A model whose fit fails gets
    'failed' rows and the others are still fitted; when a readiness check failed, every model
    is 'not_ready'.
    """
    rows = _clv_rows(
        settings,
        settings.backtest_days,
        min(settings.churn_horizon_days, settings.backtest_days),
    )
    not_ready = _failed_checks(readiness)
    if not_ready:
        for name in (*MODEL_NAMES, "gamma_gamma"):
            rows += _status(name, "not_ready", not_ready)
        return _table(rows)
    cells, repeat_customers = _sorted_inputs(cells, repeat_customers)
    for name in MODEL_NAMES:
        rows += _purchase_model_rows(name, cells, settings)
    rows += _gamma_gamma_rows(repeat_customers, settings)
    return _table(rows)


# --------------------------------------------------------------------------------------------
# Scores


def score_cells_from_fit(cells: pd.DataFrame, fit: pd.DataFrame) -> pd.DataFrame:
    """Score every cell with each purchase model fitted in ``fit`` (a `fit_clv` or `fit_backtest`
    table): one row per (model_name, cell_id) in `SCORE_COLUMNS`.

    Windows come from the fit's clv rows, in days: prediction_days for expected_purchases, the
    interval (purchases_low / purchases_high at interval_level) and the search for
    days_to_next_purchase (days from T until P(a purchase) reaches next_order_probability; NaN
    when not within the window); churn_horizon_days for churn_probability. Rows are ordered by
    model (`MODEL_NAMES` order), then cell_id. When no purchase model is fitted, every cell gets
    one row with null scores, under the clv purchase_model's name (else bgnbd).
    """
    metrics = {
        (row.model_name, row.metric): (row.value, row.detail) for row in fit.itertuples(index=False)
    }

    def value(model_name: str, metric: str, default: float | None = None) -> float:
        found = metrics.get((model_name, metric))
        if found is None or found[0] is None or pd.isna(found[0]):
            if default is None:
                raise ValueError(f"the fit table has no {model_name} {metric} value")
            return default
        return float(found[0])

    cells = cells.assign(cell_id=cells["cell_id"].astype(str)).sort_values("cell_id", kind="stable")
    cell_id = cells["cell_id"].to_numpy()
    fitted = [m for m in MODEL_NAMES if metrics.get((m, "status"), (None, None))[1] == "fitted"]
    frames = []
    if fitted:
        unit = value("clv", "time_unit_days")
        window = value("clv", "prediction_days") / unit
        churn = value("clv", "churn_horizon_days") / unit
        level = value("clv", "interval_level", 0.8)
        probability = value("clv", "next_order_probability", 0.5)
        columns = {name.lower(): name for name in cells.columns}
        x, t_x, age = (
            cells[columns[name]].to_numpy(dtype=float) for name in ("frequency", "recency", "t")
        )
    for model_name in fitted:
        params = {name: value(model_name, name) for name in PARAM_NAMES[model_name]}
        scores = score_purchase_model(
            model_name, params, x, t_x, age, window, churn, level, probability
        )
        scores.insert(0, "cell_id", cell_id)
        scores.insert(0, "model_name", model_name)
        scores["days_to_next_purchase"] = scores.pop("time_to_next_purchase") * unit
        frames.append(scores)
    if not frames:
        named = metrics.get(("clv", "purchase_model"), (None, None))[1]
        named = named if isinstance(named, str) and named in MODEL_NAMES else FALLBACK_MODEL
        empty = pd.DataFrame({"model_name": named, "cell_id": cell_id})
        for column in SCORE_COLUMNS[2:]:
            empty[column] = np.nan
        frames.append(empty)
    scored = pd.concat(frames, ignore_index=True)[SCORE_COLUMNS]
    return scored.astype(SCORE_DTYPES)

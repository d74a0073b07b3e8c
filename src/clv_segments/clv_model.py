"""The CLV step of the dbt project, as pure functions of DataFrames (testable without dbt).

`fit_clv` fits BG/NBD on the cells and Gamma-Gamma on the repeat customers and returns the fit as
a long table, one row per (model, metric): the parameters with their standard errors, the
log-likelihood, convergence, sizes and timings. `score_cells_from_fit` scores every cell once
with those parameters. The dbt Python models in python_models/ are thin wrappers around them, and
SQL turns the long table into the `clv_model_parameters` and `clv_model_diagnostics` marts.

A model that is not ready (readiness gate) or whose fit fails on every penalizer gets a status row
('not_ready', 'failed') with the reason, and no parameters: the predictions become null, never
zeros.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from clv_segments.bgnbd import ClvFitError, fit_bgnbd, score_cells, time_unit_days
from clv_segments.gamma_gamma import fit_gamma_gamma
from clv_segments.scoring import discount_factor

__all__ = ["ClvSettings", "FIT_COLUMNS", "SCORE_COLUMNS", "fit_clv", "score_cells_from_fit"]

FIT_COLUMNS = ["model_name", "metric", "value", "std_error", "detail"]
FIT_DTYPES = {
    "model_name": "string",
    "metric": "string",
    "value": "float64",
    "std_error": "float64",
    "detail": "string",
}
SCORE_COLUMNS = ["cell_id", "expected_purchases", "probability_alive", "churn_probability"]


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

    @classmethod
    def from_config(cls, get: Any) -> ClvSettings:
        """Build from a dbt Python model's `dbt.config.get` (values may arrive as strings)."""
        penalizers = get("clv_penalizers")
        if isinstance(penalizers, str):
            penalizers = json.loads(penalizers.replace("'", '"'))
        sample_size = get("clv_fit_sample_size")
        return cls(
            prediction_days=float(get("clv_prediction_days")),
            churn_horizon_days=float(get("churn_horizon_days")),
            time_unit=str(get("clv_time_unit")),
            fit_sample_size=None if sample_size in (None, "", "None", 0, "0") else int(sample_size),
            seed=int(get("clv_fit_seed")),
            penalizers=tuple(float(p) for p in penalizers),
            monthly_discount_rate=float(get("clv_monthly_discount_rate") or 0.0),
        )


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


def fit_clv(
    cells: pd.DataFrame,
    repeat_customers: pd.DataFrame,
    readiness: pd.DataFrame,
    settings: ClvSettings,
) -> pd.DataFrame:
    """Fit both models; one row per (model_name, metric) in `FIT_COLUMNS`.

    Args:
        cells: frequency, recency, t (model time units), n_customers.
        repeat_customers: frequency and monetary_value of customers with a repeat purchase.
        readiness: check_name and passed, one row per readiness check.
        settings: the CLV vars.
    """
    rows: list[tuple] = []
    failed_checks = sorted(readiness.loc[~readiness["passed"].astype(bool), "check_name"])
    common = {
        "time_unit_days": time_unit_days(settings.time_unit),
        "prediction_days": settings.prediction_days,
        "churn_horizon_days": settings.churn_horizon_days,
        "discount_factor": discount_factor(
            settings.monthly_discount_rate or None, settings.prediction_days
        ),
    }
    rows += _rows("clv", common)
    if failed_checks:
        reason = "readiness checks failed: " + ", ".join(failed_checks)
        for model_name in ("bg_nbd", "gamma_gamma"):
            rows += _rows(model_name, {"status": "not_ready", "status_detail": reason})
        return pd.DataFrame(rows, columns=FIT_COLUMNS).astype(FIT_DTYPES)

    # A fixed row order: the warehouse returns groups in any order, and the optimiser's last
    # digits depend on the order of the likelihood's terms. Reruns must give identical marts.
    cells = cells.rename(columns={"t": "T"}).sort_values(["frequency", "recency", "T"])
    repeat_customers = repeat_customers.sort_values(["frequency", "monetary_value"])
    try:
        bg = fit_bgnbd(cells, settings.fit_sample_size, settings.seed, settings.penalizers)
    except (ClvFitError, ValueError) as error:
        rows += _rows("bg_nbd", {"status": "failed", "status_detail": str(error)})
    else:
        rows += _rows(
            "bg_nbd",
            {
                "status": "fitted",
                "status_detail": _attempts_text(bg.attempts),
                **bg.params,
                "log_likelihood": bg.log_likelihood,
                "converged": bg.converged,
                "penalizer": bg.penalizer,
                "fit_seconds": bg.fit_seconds,
                "n_cells": bg.n_cells,
                "n_cells_fitted": bg.n_cells_fitted,
                "n_customers": bg.n_customers,
                "n_customers_fitted": bg.n_customers_fitted,
                "sampled": bg.sampled,
            },
            bg.standard_errors,
        )

    try:
        gg = fit_gamma_gamma(
            repeat_customers["frequency"],
            repeat_customers["monetary_value"],
            sample_size=settings.fit_sample_size,
            seed=settings.seed,
            penalizers=settings.penalizers,
        )
    except (ClvFitError, ValueError) as error:
        rows += _rows("gamma_gamma", {"status": "failed", "status_detail": str(error)})
    else:
        rows += _rows(
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
    return pd.DataFrame(rows, columns=FIT_COLUMNS).astype(FIT_DTYPES)


def score_cells_from_fit(cells: pd.DataFrame, fit: pd.DataFrame) -> pd.DataFrame:
    """Score every cell with the BG/NBD parameters of `fit` (a `fit_clv` table).

    Returns one row per cell in `SCORE_COLUMNS`; the scores are null when BG/NBD was not fitted.
    """
    metrics = {
        (row.model_name, row.metric): (row.value, row.detail) for row in fit.itertuples(index=False)
    }
    scored = pd.DataFrame({"cell_id": cells["cell_id"].astype(str)})
    if metrics.get(("bg_nbd", "status"), (None, None))[1] != "fitted":
        for column in SCORE_COLUMNS[1:]:
            scored[column] = np.full(len(cells), np.nan)
        return scored
    params = {name: metrics[("bg_nbd", name)][0] for name in ("r", "alpha", "a", "b")}
    result = score_cells(
        cells.rename(columns={"t": "T"})[["frequency", "recency", "T"]],
        params,
        prediction_days=metrics[("clv", "prediction_days")][0],
        churn_horizon_days=metrics[("clv", "churn_horizon_days")][0],
        time_unit_days=metrics[("clv", "time_unit_days")][0],
    )
    for column in SCORE_COLUMNS[1:]:
        scored[column] = result[column].to_numpy(dtype=float)
    return scored

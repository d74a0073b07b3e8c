"""Backtest scoring: predictions made at the end of a calibration period against the holdout.

`score_backtest` compares, on one frame of customers, the model's predicted repeat orders and
value with what happened in the holdout, and puts two baselines beside it:

- naive: each customer's historic rate carried forward
  (historic_orders / calibration_days * holdout_days, value likewise);
- historic_spend: ranking customers by what they spent in the calibration period (only the
  ranking figures: Spearman correlation and top-decile revenue share); the optional column
  ``historic_spend`` (e.g. all calibration spend, first purchase included) ranks them, else
  ``historic_value``.

`FHL_2005_REFERENCE` holds the published CDNOW figures the pipeline reproduces.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

__all__ = ["FHL_2005_REFERENCE", "TOP_SHARE", "backtest_to_frame", "score_backtest"]

TOP_SHARE = 0.10
"""Share of customers, ranked by a score, whose holdout revenue share is reported."""

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

REQUIRED_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "predicted_orders",
    "actual_orders",
    "predicted_value",
    "actual_value",
    "historic_orders",
    "historic_value",
    "calibration_days",
    "holdout_days",
)


def _spearman(score: np.ndarray, actual: np.ndarray) -> float:
    if len(score) < 2 or np.all(score == score[0]) or np.all(actual == actual[0]):
        return math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(spearmanr(score, actual).statistic)


def top_share_of_revenue(score: Any, actual_value: Any, share: float = TOP_SHARE) -> float:
    """Share of total ``actual_value`` held by the top ``share`` of customers by ``score``.

    The top group is ceil(share * n) customers. Customers tied at the cut-off score enter
    pro rata (each tied customer counts for the fraction of places left), which is the expected
    value of breaking the tie at random: deterministic, and fair to coarse scores such as
    per-cell predictions or zero historic spend. NaN when the total is 0.
    """
    score = np.asarray(score, dtype=float)
    actual = np.asarray(actual_value, dtype=float)
    total = actual.sum()
    if len(score) == 0 or total == 0:
        return math.nan
    n_top = math.ceil(share * len(score))
    cutoff = np.sort(score)[::-1][n_top - 1]
    above = score > cutoff
    tied = score == cutoff
    places_left = n_top - int(above.sum())
    captured = actual[above].sum() + places_left / int(tied.sum()) * actual[tied].sum()
    return float(captured / total)


def _error_metrics(
    predicted_orders: np.ndarray,
    predicted_value: np.ndarray,
    actual_orders: np.ndarray,
    actual_value: np.ndarray,
) -> dict[str, float]:
    predicted_orders_total = float(predicted_orders.sum())
    actual_orders_total = float(actual_orders.sum())
    predicted_revenue_total = float(predicted_value.sum())
    actual_revenue_total = float(actual_value.sum())
    order_errors = predicted_orders - actual_orders
    value_errors = predicted_value - actual_value
    return {
        "predicted_orders_total": predicted_orders_total,
        "actual_orders_total": actual_orders_total,
        "orders_ratio": predicted_orders_total / actual_orders_total
        if actual_orders_total
        else math.nan,
        "predicted_revenue_total": predicted_revenue_total,
        "actual_revenue_total": actual_revenue_total,
        "revenue_ratio": predicted_revenue_total / actual_revenue_total
        if actual_revenue_total
        else math.nan,
        "mae_orders": float(np.abs(order_errors).mean()),
        "rmse_orders": float(np.sqrt((order_errors**2).mean())),
        "mae_value": float(np.abs(value_errors).mean()),
        "rmse_value": float(np.sqrt((value_errors**2).mean())),
        "spearman_orders": _spearman(predicted_orders, actual_orders),
        "spearman_value": _spearman(predicted_value, actual_value),
        "top_decile_revenue_share": top_share_of_revenue(predicted_value, actual_value),
    }


def score_backtest(df: pd.DataFrame) -> dict[str, Any]:
    """Score holdout predictions; one row per customer of the calibration period.

    Columns: customer_id, predicted_orders, actual_orders (repeat orders in the holdout),
    predicted_value, actual_value (holdout revenue), historic_orders, historic_value (same
    basis, in the calibration period), calibration_days (how long each customer was observed,
    e.g. T in days), holdout_days; optionally historic_spend, the ranking of the historic_spend
    baseline (default: historic_value).

    Returns a dict: n_customers; model and naive, each with predicted vs actual totals and
    ratios (orders, revenue), per-customer MAE and RMSE (orders, value), Spearman correlations
    (orders, value) and top_decile_revenue_share; historic_spend with spearman_value and
    top_decile_revenue_share of the ranking by historic_value. The naive forecast is
    historic / calibration_days * holdout_days (0 for a customer observed 0 days).
    """
    missing = [column for column in REQUIRED_COLUMNS if column not in df.columns]
    if missing:
        raise ValueError(f"score_backtest: missing columns {missing}; got {list(df.columns)}")
    if df["customer_id"].duplicated().any():
        raise ValueError("score_backtest: customer_id is not unique")
    values = {}
    ranking = "historic_spend" if "historic_spend" in df.columns else "historic_value"
    for column in (*REQUIRED_COLUMNS[1:], ranking):
        array = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        if not np.isfinite(array).all():
            raise ValueError(f"score_backtest: column {column!r} has null or non-numeric values")
        values[column] = array
    calibration = values["calibration_days"]
    with np.errstate(divide="ignore", invalid="ignore"):
        carry = np.where(calibration > 0, values["holdout_days"] / calibration, 0.0)
    actual_orders, actual_value = values["actual_orders"], values["actual_value"]
    return {
        "n_customers": len(df),
        "model": _error_metrics(
            values["predicted_orders"], values["predicted_value"], actual_orders, actual_value
        ),
        "naive": _error_metrics(
            values["historic_orders"] * carry,
            values["historic_value"] * carry,
            actual_orders,
            actual_value,
        ),
        "historic_spend": {
            "spearman_value": _spearman(values[ranking], actual_value),
            "top_decile_revenue_share": top_share_of_revenue(values[ranking], actual_value),
        },
    }


def backtest_to_frame(result: Mapping[str, Any]) -> pd.DataFrame:
    """`score_backtest`'s dict as a long table (method, metric, value) for a diagnostics mart."""
    rows = [
        {"method": method, "metric": metric, "value": float(value)}
        for method, metrics in result.items()
        if isinstance(metrics, Mapping)
        for metric, value in metrics.items()
    ]
    return pd.DataFrame(rows, columns=["method", "metric", "value"])

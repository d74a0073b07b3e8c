"""Predicted CLV and churn bands, vectorised over cells or customers.

predicted_clv = expected purchases in the prediction window x expected order value, one
multiplication per row, as Klaviyo computes it (no discounting by default). lifetimes'
``customer_lifetime_value`` instead re-scores every customer once per month of the window to
discount each month's purchases, which is what makes it slow at scale; here discounting, when
asked for, is one scalar factor (see `discount_factor`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["MONTH_DAYS", "churn_risk", "discount_factor", "predicted_clv"]

MONTH_DAYS = 30.0
"""Days per discounting month (lifetimes' own convention for daily data, freq='D')."""


def discount_factor(monthly_discount_rate: float | None, prediction_days: float = 365) -> float:
    """Mean discount factor over the window, purchases spread evenly over it.

    The window of ``prediction_days`` is cut into months of `MONTH_DAYS` days (the last one
    partial); month k holds its share of the window's purchases (1 / n_months, less for the
    partial month) and is discounted by (1 + rate)^k at its end, like lifetimes'
    ``customer_lifetime_value``. Approximation: BG/NBD's expected purchases actually decline
    over the window as customers drop out, so spreading them evenly puts slightly too many late
    and over-discounts a little (at 1 % a month over 365 days the whole discount is about 6 %,
    so the error is a fraction of that). None or 0 gives 1.0.
    """
    if not prediction_days > 0:
        raise ValueError(f"clv_prediction_days must be > 0, got {prediction_days}")
    if monthly_discount_rate is None or monthly_discount_rate == 0:
        return 1.0
    if not monthly_discount_rate > 0:
        raise ValueError(f"monthly discount rate must be >= 0, got {monthly_discount_rate}")
    months = prediction_days / MONTH_DAYS
    n_months = math.ceil(months)
    month = np.arange(1, n_months + 1)
    share = np.minimum(1.0, months - (month - 1)) / months
    return float((share / (1.0 + monthly_discount_rate) ** month).sum())


def predicted_clv(
    expected_purchases: Any,
    expected_aov: Any,
    monthly_discount_rate: float | None = None,
    prediction_days: float = 365,
) -> np.ndarray:
    """Predicted CLV over the window: expected_purchases x expected_aov x discount factor.

    ``expected_purchases`` must already be over ``prediction_days``; ``prediction_days`` only
    matters for discounting (off by default, as in Klaviyo). Returns a float array.
    """
    factor = discount_factor(monthly_discount_rate, prediction_days)
    purchases = np.asarray(expected_purchases, dtype=float)
    order_value = np.asarray(expected_aov, dtype=float)
    return purchases * order_value * factor


def churn_risk(churn_probability: Any, low_max: float = 0.33, high_min: float = 0.66) -> np.ndarray:
    """Churn band per probability: 'low' if p < low_max, 'high' if p > high_min, else 'medium'.

    Both boundaries belong to 'medium' (0.33 and 0.66 exactly are medium: low < 0.33 <= medium
    <= 0.66 < high, as DESIGN.md states). A null probability gives None. Returns an object array
    of strings.
    """
    if not 0 <= low_max <= high_min <= 1:
        raise ValueError(
            f"churn risk thresholds must satisfy 0 <= low_max <= high_min <= 1, got "
            f"low_max={low_max}, high_min={high_min}"
        )
    probability = np.asarray(churn_probability, dtype=float)
    bands = np.select(
        [probability < low_max, probability > high_min, probability >= low_max],
        np.array(["low", "high", "medium"], dtype=object),
        default=None,
    )
    return bands.astype(object)

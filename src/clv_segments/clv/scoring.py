"""The discount factor of predicted CLV.

Predicted CLV = expected purchases in the prediction window x expected order value x this
factor, one multiplication per customer, computed in SQL by int_customers_predicted (as are the
churn risk bands; its dbt unit tests check both). The factor is 1 unless a monthly discount rate
is set (Klaviyo does not discount). lifetimes' ``customer_lifetime_value`` instead re-scores
every customer once per month of the window to discount each month's purchases, which is what
makes it slow at scale; here discounting is one scalar, computed once per fit by the CLV model
and stored in clv_model_fit (metric discount_factor).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["MONTH_DAYS", "discount_factor"]

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

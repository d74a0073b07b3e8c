"""How the dashboard writes values: money, counts, probabilities, dates (the tests read them)."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

NOT_AVAILABLE = "—"


# --- formats (shared with the tests) ----------------------------------------------------------


def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def fmt_money(value: Any) -> str:
    """Amounts in the reporting currency: 1,234.50."""
    return NOT_AVAILABLE if is_missing(value) else f"{float(value):,.2f}"


def fmt_count(value: Any) -> str:
    """Counts: 12,345."""
    return NOT_AVAILABLE if is_missing(value) else f"{int(value):,}"


def fmt_orders(value: Any) -> str:
    """Predicted (fractional) numbers of orders: 1.92."""
    return NOT_AVAILABLE if is_missing(value) else f"{float(value):,.2f}"


def fmt_purchases(value: Any) -> str:
    """Purchases summed over customers (predicted or actual): 13,660.9."""
    return NOT_AVAILABLE if is_missing(value) else f"{float(value):,.1f}"


def fmt_score(value: Any) -> str:
    """Error and rank scores of the backtest (Poisson deviance, RMSE, MAE, Spearman, Brier):
    0.8663."""
    return NOT_AVAILABLE if is_missing(value) else f"{float(value):,.4f}"


def fmt_days(value: Any) -> str:
    """Day counts that may be fractional (average days between orders): 122.0."""
    return NOT_AVAILABLE if is_missing(value) else f"{float(value):,.1f}"


def fmt_probability(value: Any) -> str:
    """Probabilities as percentages: 66.1 %."""
    return NOT_AVAILABLE if is_missing(value) else f"{float(value) * 100:.1f} %"


def fmt_share(value: Any) -> str:
    """Shares (fractions) as percentages: 12.3 %."""
    return fmt_probability(value)


def fmt_date(value: Any) -> str:
    if is_missing(value):
        return NOT_AVAILABLE
    if isinstance(value, datetime):
        return value.date().isoformat()
    return value.isoformat() if isinstance(value, date) else str(value)


def clv_bin_edges(low: float, high: float) -> list[float]:
    """Histogram edges for a long-tailed amount: 0, then the 1-2-5 series (1, 2, 5, 10, 20, ...)
    from its largest value at or below ``low`` (at least 1) up to the first value above
    ``high``. Bars of equal width then stand for equal ratios, as on a log axis."""
    series: list[float] = []
    magnitude = 1.0
    while not series or series[-1] <= high:
        for factor in (1, 2, 5):
            series.append(factor * magnitude)
            if series[-1] > high:
                break
        magnitude *= 10
    start = max(value for value in series if value <= max(low, 1.0))
    return [0.0] + [value for value in series if value >= start]


def fmt_parameter(value: Any) -> str:
    return NOT_AVAILABLE if is_missing(value) else f"{float(value):.4g}"

"""predicted_clv and churn_risk."""

from __future__ import annotations

import numpy as np
import pytest

from clv_segments.clv.scoring import churn_risk, discount_factor, predicted_clv


def test_churn_risk_boundaries_are_medium() -> None:
    probabilities = [0.0, 0.3299999, 0.33, 0.5, 0.66, 0.6600001, 1.0]
    assert churn_risk(probabilities).tolist() == [
        "low",
        "low",
        "medium",
        "medium",
        "medium",
        "high",
        "high",
    ]


def test_churn_risk_null_and_custom_thresholds() -> None:
    assert churn_risk([np.nan, 0.2]).tolist() == [None, "low"]
    assert churn_risk([0.2, 0.5, 0.8], low_max=0.1, high_min=0.5).tolist() == [
        "medium",
        "medium",
        "high",
    ]
    with pytest.raises(ValueError, match="low_max"):
        churn_risk([0.5], low_max=0.7, high_min=0.6)


def test_predicted_clv_is_purchases_times_order_value_undiscounted() -> None:
    values = predicted_clv([0.0, 1.5, 4.0], [30.0, 20.0, 12.5])
    np.testing.assert_allclose(values, [0.0, 30.0, 50.0])
    assert discount_factor(None) == discount_factor(0.0) == 1.0


def test_discounting_spreads_purchases_over_months() -> None:
    # 60 days = two 30-day months, half the purchases in each, discounted at each month's end.
    assert discount_factor(0.01, 60) == pytest.approx(0.5 / 1.01 + 0.5 / 1.01**2)
    # 45 days = one full month (2/3 of the purchases) and half a month (1/3).
    assert discount_factor(0.01, 45) == pytest.approx((2 / 3) / 1.01 + (1 / 3) / 1.01**2)
    values = predicted_clv([2.0], [50.0], monthly_discount_rate=0.01, prediction_days=60)
    np.testing.assert_allclose(values, [100.0 * (0.5 / 1.01 + 0.5 / 1.01**2)])
    with pytest.raises(ValueError, match="discount rate"):
        discount_factor(-0.1)

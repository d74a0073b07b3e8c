"""discount_factor: the one scalar predicted CLV is multiplied by (int_customers_predicted
multiplies it in SQL; its dbt unit tests check the product and the churn risk bands)."""

from __future__ import annotations

import pytest

from clv_segments.clv.scoring import discount_factor


def test_no_discount_rate_means_no_discounting() -> None:
    assert discount_factor(None) == discount_factor(0.0) == 1.0
    assert discount_factor(None, 30) == 1.0


def test_discounting_spreads_purchases_over_months() -> None:
    # 60 days = two 30-day months, half the purchases in each, discounted at each month's end.
    assert discount_factor(0.01, 60) == pytest.approx(0.5 / 1.01 + 0.5 / 1.01**2)
    # 45 days = one full month (2/3 of the purchases) and half a month (1/3).
    assert discount_factor(0.01, 45) == pytest.approx((2 / 3) / 1.01 + (1 / 3) / 1.01**2)
    # a year at 1 % a month: about 6 % off
    assert 0.93 < discount_factor(0.01, 365) < 0.95


def test_invalid_rate_or_window_is_refused() -> None:
    with pytest.raises(ValueError, match="discount rate"):
        discount_factor(-0.1)
    with pytest.raises(ValueError, match="clv_prediction_days"):
        discount_factor(0.01, 0)

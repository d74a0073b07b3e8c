"""Backtest metrics on a hand-made frame, every expected value worked out by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from clv_segments.backtest import (
    FHL_2005_REFERENCE,
    backtest_to_frame,
    score_backtest,
    top_share_of_revenue,
)


@pytest.fixture
def holdout() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "predicted_orders": [2.0, 1.0, 0.5, 0.5],
            "actual_orders": [1, 2, 0, 1],
            "predicted_value": [100.0, 40.0, 10.0, 20.0],
            "actual_value": [60.0, 80.0, 0.0, 60.0],
            "historic_orders": [4, 2, 0, 1],
            "historic_value": [200.0, 50.0, 0.0, 30.0],
            "calibration_days": [100, 100, 50, 200],
            "holdout_days": [50, 50, 50, 50],
        }
    )


def test_model_metrics_by_hand(holdout: pd.DataFrame) -> None:
    result = score_backtest(holdout)
    model = result["model"]
    assert result["n_customers"] == 4
    assert model["predicted_orders_total"] == 4.0 and model["actual_orders_total"] == 4.0
    assert model["orders_ratio"] == 1.0
    assert model["predicted_revenue_total"] == 170.0 and model["actual_revenue_total"] == 200.0
    assert model["revenue_ratio"] == pytest.approx(0.85)
    # order errors 1, -1, 0.5, -0.5; value errors 40, -40, 10, -40
    assert model["mae_orders"] == pytest.approx(0.75)
    assert model["rmse_orders"] == pytest.approx(math.sqrt(2.5 / 4))
    assert model["mae_value"] == pytest.approx(32.5)
    assert model["rmse_value"] == pytest.approx(35.0)
    # ranks: predicted orders (4, 3, 1.5, 1.5) vs actual (2.5, 4, 1, 2.5): rho = 2.25 / 4.5
    assert model["spearman_orders"] == pytest.approx(0.5)
    # predicted value ranks (4, 3, 1, 2) vs actual (2.5, 4, 1, 2.5): rho = 3 / sqrt(5 * 4.5)
    assert model["spearman_value"] == pytest.approx(3 / math.sqrt(22.5))
    # top 10 % of 4 customers = 1 customer: a, who spent 60 of 200 in the holdout
    assert model["top_decile_revenue_share"] == pytest.approx(0.3)


def test_naive_and_historic_spend_baselines_by_hand(holdout: pd.DataFrame) -> None:
    result = score_backtest(holdout)
    naive = result["naive"]
    # carried forward at holdout / calibration = 0.5, 0.5, 1, 0.25:
    # orders 2, 1, 0, 0.25 and values 100, 25, 0, 7.5
    assert naive["predicted_orders_total"] == pytest.approx(3.25)
    assert naive["orders_ratio"] == pytest.approx(3.25 / 4)
    assert naive["predicted_revenue_total"] == pytest.approx(132.5)
    assert naive["revenue_ratio"] == pytest.approx(132.5 / 200)
    # order errors 1, -1, 0, -0.75; value errors 40, -55, 0, -52.5
    assert naive["mae_orders"] == pytest.approx(2.75 / 4)
    assert naive["rmse_orders"] == pytest.approx(math.sqrt(2.5625 / 4))
    assert naive["mae_value"] == pytest.approx(147.5 / 4)
    assert naive["rmse_value"] == pytest.approx(math.sqrt(7381.25 / 4))
    assert naive["spearman_orders"] == pytest.approx(3 / math.sqrt(22.5))
    assert naive["spearman_value"] == pytest.approx(3 / math.sqrt(22.5))
    assert naive["top_decile_revenue_share"] == pytest.approx(0.3)
    spend = result["historic_spend"]
    assert spend["spearman_value"] == pytest.approx(3 / math.sqrt(22.5))
    assert spend["top_decile_revenue_share"] == pytest.approx(0.3)


def test_historic_spend_column_ranks_the_spend_baseline(holdout: pd.DataFrame) -> None:
    # rank by all calibration spend 10, 300, 5, 20 -> ranks (2, 4, 1, 3) vs actual
    # (2.5, 4, 1, 2.5): rho = 4.5 / sqrt(5 * 4.5); top 1 customer is b, 80 of 200
    result = score_backtest(holdout.assign(historic_spend=[10.0, 300.0, 5.0, 20.0]))
    spend = result["historic_spend"]
    assert spend["spearman_value"] == pytest.approx(4.5 / math.sqrt(22.5))
    assert spend["top_decile_revenue_share"] == pytest.approx(0.4)
    # the naive forecast still carries historic_value forward
    assert result["naive"]["predicted_revenue_total"] == pytest.approx(132.5)


def test_ties_at_the_cutoff_count_pro_rata() -> None:
    # 10 customers, top 10 % = 1 place, two tied at the top holding 30 + 10 of 100.
    score = [5, 5, 1, 1, 1, 1, 1, 1, 1, 1]
    actual = [30, 10, 10, 10, 10, 10, 5, 5, 5, 5]
    assert top_share_of_revenue(score, actual) == pytest.approx(0.5 * 40 / 100)
    assert math.isnan(top_share_of_revenue(score, [0] * 10))


def test_customer_observed_zero_days_has_zero_naive_forecast(holdout) -> None:
    result = score_backtest(holdout.assign(calibration_days=[100, 100, 0, 200]))
    assert result["naive"]["predicted_orders_total"] == pytest.approx(3.25)


def test_long_table_and_bad_input(holdout) -> None:
    table = backtest_to_frame(score_backtest(holdout))
    assert set(table["method"]) == {"model", "naive", "historic_spend"}
    assert len(table) == 13 + 13 + 2
    with pytest.raises(ValueError, match="holdout_days"):
        score_backtest(holdout.drop(columns="holdout_days"))
    with pytest.raises(ValueError, match="actual_value"):
        score_backtest(holdout.assign(actual_value=[1.0, None, 2.0, 3.0]))


def test_fhl_reference_constants() -> None:
    bgnbd = FHL_2005_REFERENCE["bgnbd"]
    assert (bgnbd["r"], bgnbd["alpha"], bgnbd["a"], bgnbd["b"]) == (0.243, 4.414, 0.793, 2.426)
    assert bgnbd["log_likelihood"] == -9582.4 and bgnbd["time_unit"] == "week"
    spend = FHL_2005_REFERENCE["gamma_gamma"]
    assert (spend["p"], spend["q"], spend["v"]) == (6.25, 3.74, 15.44)

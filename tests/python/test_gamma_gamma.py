"""Gamma-Gamma: FHL reproduction, equality with lifetimes, expected order value, retries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifetimes import GammaGammaFitter
from lifetimes.datasets import load_cdnow_summary_data_with_monetary_value

from clv_segments.clv.backtest import FHL_2005_REFERENCE
from clv_segments.clv.bgnbd import ClvFitError
from clv_segments.clv.gamma_gamma import (
    GammaGammaFit,
    expected_average_order_value,
    fit_gamma_gamma,
)


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return load_cdnow_summary_data_with_monetary_value()


@pytest.fixture(scope="module")
def cdnow_fit(cdnow: pd.DataFrame) -> GammaGammaFit:
    return fit_gamma_gamma(cdnow["frequency"], cdnow["monetary_value"])


def test_fhl_2005_gamma_gamma_reproduced(cdnow_fit: GammaGammaFit) -> None:
    reference = FHL_2005_REFERENCE["gamma_gamma"]
    assert round(cdnow_fit.p, 2) == reference["p"]
    assert round(cdnow_fit.q, 2) == reference["q"]
    # The maximum likelihood v is 15.4477: lifetimes' docs print 15.45, the paper 15.44 (the
    # likelihood is flat there: its standard error is 4.2). Within 0.01 of the paper.
    assert cdnow_fit.v == pytest.approx(reference["v"], abs=0.01)
    assert cdnow_fit.n_customers == cdnow_fit.n_customers_fitted == reference["n_customers"]
    assert cdnow_fit.n_rows == 2357
    assert (
        round(cdnow_fit.frequency_spend_correlation, 2) == reference["frequency_spend_correlation"]
    )
    assert cdnow_fit.population_mean_order_value == pytest.approx(
        cdnow_fit.p * cdnow_fit.v / (cdnow_fit.q - 1)
    )


def test_equals_lifetimes_fit_and_is_money_scale_free(cdnow, cdnow_fit) -> None:
    repeat = cdnow[cdnow["frequency"] > 0]
    direct = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    for name in ("p", "q", "v"):
        assert getattr(cdnow_fit, name) == pytest.approx(direct.params_[name], rel=1e-4)
        assert cdnow_fit.standard_errors[name] == pytest.approx(
            direct.standard_errors_[name], rel=1e-3
        )
    assert cdnow_fit.log_likelihood == pytest.approx(
        -direct._negative_log_likelihood_ * len(repeat), rel=1e-7
    )
    in_cents = fit_gamma_gamma(cdnow["frequency"], cdnow["monetary_value"] * 100)
    assert in_cents.p == pytest.approx(cdnow_fit.p, rel=1e-4)
    assert in_cents.q == pytest.approx(cdnow_fit.q, rel=1e-4)
    assert in_cents.v == pytest.approx(cdnow_fit.v * 100, rel=1e-4)


def test_weights_equal_repeated_rows(cdnow) -> None:
    repeat = cdnow[cdnow["frequency"] > 0].head(300)
    doubled = pd.concat([repeat, repeat, repeat.head(100)])
    weights = np.r_[np.full(100, 3), np.full(200, 2)]
    by_rows = fit_gamma_gamma(doubled["frequency"], doubled["monetary_value"])
    by_weights = fit_gamma_gamma(repeat["frequency"], repeat["monetary_value"], weights=weights)
    assert by_weights.n_customers == by_rows.n_customers == 700
    for name in ("p", "q", "v"):
        assert getattr(by_weights, name) == pytest.approx(getattr(by_rows, name), rel=1e-4)


def test_expected_average_order_value_by_hand() -> None:
    params = {"p": 6.0, "q": 4.0, "v": 15.0}
    # population mean p v / (q - 1) = 90 / 3 = 30; weight on m for x = 2: 12 / (12 + 3) = 0.8
    values = expected_average_order_value([2, 0, 0], [20.0, np.nan, 55.0], params)
    np.testing.assert_allclose(values, [0.2 * 30 + 0.8 * 20, 30.0, 30.0])


def test_expected_average_order_value_matches_lifetimes(cdnow, cdnow_fit) -> None:
    reference = GammaGammaFitter()
    reference.params_ = pd.Series(cdnow_fit.params)
    repeat = cdnow[cdnow["frequency"] > 0]
    np.testing.assert_allclose(
        expected_average_order_value(repeat["frequency"], repeat["monetary_value"], cdnow_fit),
        reference.conditional_expected_average_profit(
            repeat["frequency"], repeat["monetary_value"]
        ),
        rtol=1e-12,
    )


def test_only_repeat_customers_with_positive_spend_are_fitted(cdnow, cdnow_fit) -> None:
    extra = pd.DataFrame({"frequency": [0, 3, 2], "monetary_value": [50.0, 0.0, np.nan]})
    padded = pd.concat([cdnow[["frequency", "monetary_value"]], extra])
    fit = fit_gamma_gamma(padded["frequency"], padded["monetary_value"])
    assert fit.n_rows == len(padded) and fit.n_customers == cdnow_fit.n_customers
    assert fit.params == pytest.approx(cdnow_fit.params, rel=1e-9)
    with pytest.raises(ClvFitError, match="no customer with a repeat purchase"):
        fit_gamma_gamma([0, 0], [10.0, 20.0])


def test_sampling(cdnow, cdnow_fit) -> None:
    one = fit_gamma_gamma(cdnow["frequency"], cdnow["monetary_value"], sample_size=600, seed=5)
    two = fit_gamma_gamma(cdnow["frequency"], cdnow["monetary_value"], sample_size=600, seed=5)
    assert one.sampled and one.n_customers_fitted == 600 and one.n_customers == 946
    assert one.params == two.params
    for name in ("p", "q", "v"):  # within 3 of the sample's standard errors of the full fit
        gap = abs(getattr(one, name) - getattr(cdnow_fit, name))
        assert gap < 3 * one.standard_errors[name]
    unsampled = fit_gamma_gamma(cdnow["frequency"], cdnow["monetary_value"], sample_size=946)
    assert not unsampled.sampled and unsampled.params == cdnow_fit.params


def test_non_convergence_is_retried_with_penalizer_and_reported() -> None:
    # Everyone spends exactly 10: no spread between customers, the unpenalised likelihood has
    # no interior optimum and scipy stops with a precision-loss failure.
    fit = fit_gamma_gamma(np.ones(50), np.full(50, 10.0))
    first = fit.attempts[0]
    assert first.penalizer == 0.0 and not first.converged and "ConvergenceError" in first.error
    assert fit.retried and fit.penalizer == fit.attempts[-1].penalizer > 0
    assert fit.converged and fit.q > 1 and min(fit.params.values()) > 0
    assert fit.population_mean_order_value == pytest.approx(10.0, rel=0.2)


def test_all_attempts_failing_raises(monkeypatch) -> None:
    from lifetimes.utils import ConvergenceError

    def never_converges(self, *args, **kwargs):
        raise ConvergenceError("The model did not converge.")

    monkeypatch.setattr(GammaGammaFitter, "fit", never_converges)
    with pytest.raises(ClvFitError, match="penalizer 0.01: ConvergenceError") as raised:
        fit_gamma_gamma([1, 2, 3], [10.0, 12.0, 9.0], penalizers=(0.0, 0.01))
    assert [attempt.penalizer for attempt in raised.value.attempts] == [0.0, 0.01]

"""BG/NBD on cells: churn by hand, FHL reproduction, cells = customers, recovery, sampling."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from lifetimes import BetaGeoFitter
from lifetimes.datasets import load_cdnow_summary

from clv_segments.clv import bgnbd
from clv_segments.clv.backtest import FHL_2005_REFERENCE
from clv_segments.clv.bgnbd import (
    ClvFitError,
    aggregate_cells,
    churn_probability,
    expected_purchases,
    fit_bgnbd,
    probability_alive,
    sample_cell_counts,
    score_cells,
    simulate_bgnbd,
    time_unit_days,
)
from clv_segments.clv.frames import to_pandas

PARAMS = ("r", "alpha", "a", "b")
TRUTH = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    """FHL's CDNOW sample: 2,357 customers, weekly units, 39-week calibration period."""
    return load_cdnow_summary(index_col=[0])


@pytest.fixture(scope="module")
def cdnow_cells(cdnow: pd.DataFrame) -> pd.DataFrame:
    return aggregate_cells(cdnow)


@pytest.fixture(scope="module")
def cdnow_fit(cdnow_cells: pd.DataFrame) -> bgnbd.BgNbdFit:
    return fit_bgnbd(cdnow_cells)


@pytest.fixture(scope="module")
def simulated_cells() -> pd.DataFrame:
    """20,000 customers simulated exactly (continuous time) from CDNOW-like parameters."""
    ages = np.random.default_rng(100).uniform(26, 78, 20_000)
    return aggregate_cells(simulate_bgnbd(20_000, **TRUTH, age=ages, seed=0))


@pytest.fixture(scope="module")
def simulated_fit(simulated_cells: pd.DataFrame) -> bgnbd.BgNbdFit:
    return fit_bgnbd(simulated_cells)


# --- churn formula by hand -------------------------------------------------------------------


def test_churn_probability_matches_hand_calculation() -> None:
    r, alpha, a, b = 0.25, 4.0, 0.8, 2.5
    x, t_x, age, t = 2, 30.0, 39.0, 13.0  # two repeat purchases, last at week 30, age 39 weeks

    # P(alive) = 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))
    ratio = (alpha + age) / (alpha + t_x)  # 43 / 34 = 1.264706
    odds_dead = a / (b + x - 1) * math.exp((r + x) * math.log(ratio))  # 0.8 / 3.5 * 1.6962
    p_alive = 1 / (1 + odds_dead)
    assert ratio == pytest.approx(1.264706, abs=1e-6)
    assert odds_dead == pytest.approx(0.387702, abs=1e-6)
    assert p_alive == pytest.approx(0.720616, abs=1e-6)

    # Alive, the posterior rate is Gamma(r + x, alpha + T): P(no purchase in t | alive) is the
    # Gamma's Laplace transform at t, ((alpha + T) / (alpha + T + t)) ** (r + x) = (43/56)^2.25.
    no_purchase_if_alive = ((alpha + age) / (alpha + age + t)) ** (r + x)
    assert no_purchase_if_alive == pytest.approx(0.551926, abs=1e-6)
    churn = 1 - p_alive * (1 - no_purchase_if_alive)
    assert churn == pytest.approx(0.677111, abs=1e-6)

    params = {"r": r, "alpha": alpha, "a": a, "b": b}
    assert probability_alive(x, t_x, age, params)[()] == pytest.approx(p_alive, rel=1e-12)
    assert churn_probability(t, x, t_x, age, params)[()] == pytest.approx(churn, rel=1e-12)

    # A one-time buyer is alive for sure: churn = ((alpha + T) / (alpha + T + t)) ** r.
    assert churn_probability(t, 0, 0.0, age, params)[()] == pytest.approx(
        (43 / 56) ** 0.25, rel=1e-12
    )
    assert (43 / 56) ** 0.25 == pytest.approx(0.936095, abs=1e-6)

    # Windows are in days; with weekly cells a 91-day horizon is t = 13 weeks.
    cells = pd.DataFrame({"frequency": [x, 0], "recency": [t_x, 0.0], "T": [age, age]})
    scored = score_cells(cells, params, 365, 91, time_unit_days=time_unit_days("week"))
    assert scored["churn_probability"].tolist() == pytest.approx([churn, (43 / 56) ** 0.25])
    assert scored["probability_alive"].tolist() == pytest.approx([p_alive, 1.0])


def test_scoring_matches_lifetimes(cdnow: pd.DataFrame, cdnow_fit: bgnbd.BgNbdFit) -> None:
    reference = BetaGeoFitter()
    reference.params_ = pd.Series(cdnow_fit.params)
    f, rec, age = cdnow["frequency"], cdnow["recency"], cdnow["T"]
    for t in (1.0, 13.0, 39.0, 52.14):
        expected = reference.conditional_expected_number_of_purchases_up_to_time(t, f, rec, age)
        np.testing.assert_allclose(expected_purchases(t, f, rec, age, cdnow_fit), expected, 1e-9)
    np.testing.assert_allclose(
        probability_alive(f, rec, age, cdnow_fit),
        reference.conditional_probability_alive(f, rec, age),
        rtol=1e-12,
    )


def test_expected_purchases_stays_finite_for_heavy_buyers() -> None:
    params = {"r": 0.25, "alpha": 30.0, "a": 0.8, "b": 2.4}
    x = np.array([0, 1, 50, 300, 1000, 3000])
    recency = np.where(x > 0, 1499.0, 0.0)  # all bought yesterday (except the one-time buyer)
    values = expected_purchases(365, x, recency, 1500.0, params)
    assert np.all(np.isfinite(values)) and np.all(np.diff(values) > 0)
    # lifetimes needs its overflow fallback here; the Euler form gives the same numbers.
    reference = BetaGeoFitter()
    reference.params_ = pd.Series(params)
    with np.errstate(all="ignore"):
        expected = reference.conditional_expected_number_of_purchases_up_to_time(
            365, x, recency, np.full(len(x), 1500.0)
        )
    np.testing.assert_allclose(values, expected, rtol=1e-9)
    # Below the customer's own pace (x / T a day over 365 days): some will drop out.
    assert 0.8 * 3000 / 1500 * 365 < values[-1] < 3000 / 1500 * 365


def test_score_cells_keeps_rows_and_adds_columns(cdnow_cells, cdnow_fit) -> None:
    scored = score_cells(cdnow_cells, cdnow_fit, prediction_days=365, churn_horizon_days=90)
    assert len(scored) == len(cdnow_cells)
    assert scored.index.equals(cdnow_cells.index)
    assert {"expected_purchases", "probability_alive", "churn_probability"} <= set(scored)
    assert "expected_purchases" not in cdnow_cells  # input untouched
    assert scored["churn_probability"].between(0, 1).all()
    assert scored["probability_alive"].between(0, 1).all()
    assert (scored["expected_purchases"] >= 0).all()


# --- FHL 2005 reproduction and cells = customers --------------------------------------------


def test_fhl_2005_bgnbd_reproduced(cdnow_fit: bgnbd.BgNbdFit) -> None:
    reference = FHL_2005_REFERENCE["bgnbd"]
    for name in PARAMS:
        assert round(getattr(cdnow_fit, name), 3) == reference[name], name
    # Total log-likelihood in weeks, not lifetimes' mean on rescaled time.
    assert cdnow_fit.log_likelihood == pytest.approx(reference["log_likelihood"], abs=0.1)
    assert cdnow_fit.n_customers == cdnow_fit.n_customers_fitted == reference["n_customers"]
    assert cdnow_fit.converged and cdnow_fit.penalizer == 0.0 and not cdnow_fit.sampled
    assert cdnow_fit.n_cells < cdnow_fit.n_customers
    for name in PARAMS:  # standard errors: positive and smaller than the estimate
        assert 0 < cdnow_fit.standard_errors[name] < getattr(cdnow_fit, name)


def test_cell_fit_equals_per_customer_fit(cdnow: pd.DataFrame, cdnow_fit) -> None:
    per_customer = BetaGeoFitter().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    for name in PARAMS:
        assert getattr(cdnow_fit, name) == pytest.approx(per_customer.params_[name], rel=1e-4)
        assert cdnow_fit.standard_errors[name] == pytest.approx(
            per_customer.standard_errors_[name], rel=1e-3
        )
    per_customer_ll = bgnbd.bgnbd_log_likelihood(
        per_customer.params_, cdnow["frequency"], cdnow["recency"], cdnow["T"]
    )
    assert cdnow_fit.log_likelihood == pytest.approx(per_customer_ll, abs=1e-3)


def test_fit_reads_lower_case_t_from_to_pandas(cdnow_cells, cdnow_fit) -> None:
    upper = cdnow_cells.rename(columns=str.upper)  # as Snowflake would return it
    fit = fit_bgnbd(to_pandas(upper))
    assert fit.params == pytest.approx(cdnow_fit.params, rel=1e-9)


# --- recovery and sampling ------------------------------------------------------------------


def test_parameter_recovery(simulated_fit: bgnbd.BgNbdFit) -> None:
    """Exact continuous-time simulation, 20,000 customers: each estimate within 4 of its own
    standard errors of the truth (the estimator is consistent and asymptotically normal, so a
    correct fit misses by more than 4 SE with probability ~6e-5 per parameter), and those
    standard errors small enough for the check to bite (about 1.5 % of r, 2.7 % of alpha, 6 %
    of a and 8 % of b here, so within 6 %, 11 %, 24 % and 32 % of the truth)."""
    for name in PARAMS:
        estimate, se = getattr(simulated_fit, name), simulated_fit.standard_errors[name]
        assert abs(estimate - TRUTH[name]) < 4 * se, (name, estimate, se)
        assert se / TRUTH[name] < (0.03 if name in ("r", "alpha") else 0.1), (name, se)


def test_sampled_fit_is_close_to_full_fit(simulated_cells, simulated_fit) -> None:
    half = simulated_fit.n_customers // 2
    sampled = fit_bgnbd(simulated_cells, sample_size=half, seed=7)
    assert sampled.sampled and sampled.n_customers_fitted == half
    assert sampled.n_customers == simulated_fit.n_customers
    # The sample-minus-full difference has a standard deviation of about se_full * sqrt(2 - 1)
    # for a 50 % sample, which is below the sample's own standard error: allow 3 of them.
    for name in PARAMS:
        gap = abs(getattr(sampled, name) - getattr(simulated_fit, name))
        assert gap < 3 * sampled.standard_errors[name], name
        assert sampled.standard_errors[name] > simulated_fit.standard_errors[name]


def test_sample_is_uniform_without_replacement_and_seeded() -> None:
    counts = np.array([5, 1, 1000, 3, 200, 40])
    first = sample_cell_counts(counts, 600, seed=3)
    assert first.sum() == 600
    assert np.all((first >= 0) & (first <= counts))
    np.testing.assert_array_equal(first, sample_cell_counts(counts, 600, seed=3))
    assert not np.array_equal(first, sample_cell_counts(counts, 600, seed=4))
    # Uniform over customers: the big cell gets ~ 600 * 1000 / 1249 of the draws.
    draws = np.array([sample_cell_counts(counts, 600, seed=s) for s in range(200)])
    np.testing.assert_allclose(draws.mean(axis=0), counts * 600 / counts.sum(), rtol=0.1, atol=1)


def test_sample_size_at_or_above_total_means_no_sampling(cdnow_cells, cdnow_fit) -> None:
    for size in (cdnow_fit.n_customers, 10**9):
        fit = fit_bgnbd(cdnow_cells, sample_size=size, seed=1)
        assert not fit.sampled and fit.n_customers_fitted == fit.n_customers
        assert fit.params == cdnow_fit.params
    np.testing.assert_array_equal(
        sample_cell_counts(cdnow_cells["n_customers"], 10**9, seed=1), cdnow_cells["n_customers"]
    )


def test_sampled_fit_is_deterministic_for_a_seed(simulated_cells) -> None:
    one = fit_bgnbd(simulated_cells, sample_size=5_000, seed=11)
    two = fit_bgnbd(simulated_cells, sample_size=5_000, seed=11)
    other = fit_bgnbd(simulated_cells, sample_size=5_000, seed=12)
    assert one.params == two.params
    assert one.params != other.params


# --- failures: retried and reported, never zeros --------------------------------------------


def test_degenerate_data_raises_after_every_penalizer(cdnow_cells) -> None:
    nobody_repeats = cdnow_cells.assign(frequency=0, recency=0.0)
    with pytest.raises(ClvFitError) as raised:
        fit_bgnbd(nobody_repeats)
    attempts = raised.value.attempts
    assert [attempt.penalizer for attempt in attempts] == [0.0, 0.001, 0.01, 0.1]
    assert all(not attempt.converged and attempt.error for attempt in attempts)
    message = str(raised.value)
    assert "penalizer 0:" in message and "penalizer 0.1:" in message


def test_failed_fit_is_retried_with_penalizer(monkeypatch, cdnow_cells, cdnow_fit) -> None:
    from lifetimes.utils import ConvergenceError

    original_fit = BetaGeoFitter.fit

    def fails_without_penalizer(self, *args, **kwargs):
        if self.penalizer_coef == 0:
            print("message: Desired error not necessarily achieved due to precision loss.")
            raise ConvergenceError("The model did not converge.")
        return original_fit(self, *args, **kwargs)

    monkeypatch.setattr(BetaGeoFitter, "fit", fails_without_penalizer)
    fit = fit_bgnbd(cdnow_cells)
    assert fit.converged and fit.retried and fit.penalizer == 0.001
    first = fit.attempts[0]
    assert first.penalizer == 0.0 and not first.converged
    assert "ConvergenceError" in first.error and "precision loss" in first.error
    assert fit.attempts[1].converged and fit.attempts[1].error is None
    for name in PARAMS:  # a real (slightly shrunk) estimate, not zeros
        assert getattr(fit, name) == pytest.approx(getattr(cdnow_fit, name), rel=0.5)
    assert fit.attempts[0].error == first.error


def test_invalid_cells_are_named(cdnow_cells) -> None:
    with pytest.raises(ValueError, match="recency is greater than T"):
        fit_bgnbd(cdnow_cells.assign(recency=cdnow_cells["T"] + 1))
    with pytest.raises(ValueError, match="'n_customers'"):
        fit_bgnbd(cdnow_cells.drop(columns="n_customers"))
    with pytest.raises(ValueError, match="n_customers"):
        fit_bgnbd(cdnow_cells.assign(n_customers=0))
    with pytest.raises(ValueError, match="clv_time_unit"):
        time_unit_days("month")

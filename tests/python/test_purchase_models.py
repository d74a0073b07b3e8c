"""Purchase models (BG/NBD, Pareto/NBD, MBG/NBD) and the CLV step's fit and score tables.

The maths is checked against lifetimes (likelihoods, P(alive), expected purchases, Pareto/NBD's
conditional pmf), the literature (Fader and Hardie's CDNOW Pareto/NBD estimates), hand
calculations and exact simulations of each model; the tables against the interface the dbt
models read.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from lifetimes import BetaGeoFitter, ModifiedBetaGeoFitter, ParetoNBDFitter
from lifetimes.datasets import load_cdnow_summary, load_cdnow_summary_data_with_monetary_value

from clv_segments.clv import purchase_models as pm
from clv_segments.clv.bgnbd import aggregate_cells
from clv_segments.clv.clv_model import (
    FIT_COLUMNS,
    SCORE_COLUMNS,
    ClvSettings,
    fit_backtest,
    fit_clv,
    score_cells_from_fit,
)
from clv_segments.clv.penalized_fit import ClvFitError
from clv_segments.clv.purchase_models import MODEL_NAMES

LIFETIMES = {
    "bgnbd": BetaGeoFitter,
    "pareto_nbd": ParetoNBDFitter,
    "mbgnbd": ModifiedBetaGeoFitter,
}
# Fader and Hardie (2005), "A note on implementing the Pareto/NBD model in MATLAB" (note 008):
# CDNOW sample, 2,357 customers, weeks, 39-week calibration.
FH_PARETO_NBD = {"r": 0.5534, "alpha": 10.5802, "s": 0.6061, "beta": 11.6689}
FH_PARETO_NBD_LOG_LIKELIHOOD = -9595.0


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return load_cdnow_summary(index_col=[0])


@pytest.fixture(scope="module")
def cdnow_cells(cdnow: pd.DataFrame) -> pd.DataFrame:
    return aggregate_cells(cdnow)


@pytest.fixture(scope="module")
def fits(cdnow_cells: pd.DataFrame) -> dict[str, pm.PurchaseModelFit]:
    return {name: pm.fit_purchase_model(name, cdnow_cells) for name in MODEL_NAMES}


def _history(cdnow: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return tuple(cdnow[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))


def _reference(model_name: str, params: dict[str, float]):
    """A lifetimes fitter of the model holding these parameters."""
    fitter = LIFETIMES[model_name]()
    fitter.params_ = pd.Series(params)
    return fitter


# --- likelihoods and fits -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [(0.5534, 10.5802, 0.6061, 11.6689), (0.5, 12.0, 0.6, 9.0), (2.0, 3.0, 0.3, 3.0)],
    ids=["published", "alpha>beta", "alpha=beta"],
)
def test_pareto_nbd_likelihood_equals_lifetimes(cdnow: pd.DataFrame, params) -> None:
    x, t_x, age = _history(cdnow)
    named = dict(zip(pm.PARAM_NAMES["pareto_nbd"], params, strict=True))
    expected = ParetoNBDFitter._conditional_log_likelihood(params, x, t_x, age).sum()
    assert pm.pareto_nbd_log_likelihood(named, x, t_x, age) == pytest.approx(expected, rel=1e-12)
    assert pm.log_likelihood("pareto_nbd", named, x, t_x, age) == pytest.approx(expected, 1e-12)


def test_pareto_nbd_likelihood_stays_finite_for_heavy_buyers() -> None:
    # 2F1(r + s + x, r + x; r + s + x + 1; z) overflows as z -> 1 for large x; Euler's form not
    params = {"r": 0.5, "alpha": 2.0, "s": 0.6, "beta": 900.0}
    x = np.array([0.0, 1, 50, 300, 1500])
    t_x = np.array([0.0, 10, 1400, 1499, 1499.5])
    rows = [
        pm.pareto_nbd_log_likelihood(params, [a], [b], [1500.0])
        for a, b in zip(x, t_x, strict=True)
    ]
    assert np.all(np.isfinite(rows))
    alive = pm.probability_alive("pareto_nbd", params, x, t_x, 1500.0)
    assert np.all((alive >= 0) & (alive <= 1)) and alive[-1] > 0.99


def test_fader_hardie_pareto_nbd_reproduced(fits) -> None:
    fit = fits["pareto_nbd"]
    for name, published in FH_PARETO_NBD.items():
        assert round(fit.params[name], 2) == round(published, 2), name
        assert 0 < fit.standard_errors[name] < fit.params[name], name
    assert fit.log_likelihood == pytest.approx(FH_PARETO_NBD_LOG_LIKELIHOOD, abs=0.1)
    assert fit.n_customers == fit.n_customers_fitted == 2357 and not fit.sampled
    assert fit.converged and fit.penalizer == 0.0


def test_pareto_nbd_fit_finds_lifetimes_optimum(cdnow_cells, fits) -> None:
    """lifetimes' own fitter (Nelder-Mead; its random start fixed here) reaches the same point."""
    lifetimes_fit = ParetoNBDFitter().fit(
        cdnow_cells["frequency"],
        cdnow_cells["recency"],
        cdnow_cells["T"],
        weights=cdnow_cells["n_customers"],
        initial_params=np.ones(4),
    )
    for name in pm.PARAM_NAMES["pareto_nbd"]:
        assert fits["pareto_nbd"].params[name] == pytest.approx(
            lifetimes_fit.params_[name], rel=1e-3
        )


def test_mbgnbd_cell_fit_equals_lifetimes_per_customer(cdnow: pd.DataFrame, fits) -> None:
    per_customer = ModifiedBetaGeoFitter().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    fit = fits["mbgnbd"]
    for name in pm.PARAM_NAMES["mbgnbd"]:
        assert fit.params[name] == pytest.approx(per_customer.params_[name], rel=1e-4)
        assert fit.standard_errors[name] == pytest.approx(
            per_customer.standard_errors_[name], rel=1e-3
        )
    total = -per_customer._negative_log_likelihood_ * len(cdnow)  # unpenalised, rescaled time
    rescaling = cdnow["frequency"].sum() * math.log(per_customer._scale)  # time in weeks
    assert fit.log_likelihood == pytest.approx(total + rescaling, abs=1e-3)


def test_bgnbd_through_the_generic_fit_is_fit_bgnbd(cdnow_cells, fits) -> None:
    from clv_segments.clv.bgnbd import fit_bgnbd

    direct = fit_bgnbd(cdnow_cells)
    assert fits["bgnbd"].params == direct.params
    assert fits["bgnbd"].log_likelihood == direct.log_likelihood == pytest.approx(-9582.4, abs=0.1)


def test_numerical_hessian_gives_lifetimes_standard_errors(cdnow_cells) -> None:
    """The finite-difference Hessian used for Pareto/NBD's standard errors, tried on BG/NBD
    against lifetimes' autograd Hessian: the same standard errors."""
    f, rec, age, w = (
        cdnow_cells[c].to_numpy() for c in ("frequency", "recency", "T", "n_customers")
    )
    fitter = BetaGeoFitter().fit(f, rec, age, weights=w)
    scale = fitter._scale
    log_params = np.log(fitter.params_.to_numpy() * np.array([1, scale, 1, 1]))

    def objective(point):
        return BetaGeoFitter._negative_log_likelihood(point, f, rec * scale, age * scale, w, 0.0)

    variance = np.linalg.inv(pm._numerical_hessian(objective, log_params)) / w.sum()
    errors = fitter.params_.to_numpy() * np.sqrt(np.diag(variance))
    np.testing.assert_allclose(errors, fitter.standard_errors_.to_numpy(), rtol=1e-3)


def test_fits_are_deterministic_and_sampled_alike(cdnow_cells) -> None:
    """No random start (lifetimes' Pareto/NBD draws one): the same cells give the same fit, and
    every model fitted with the same sample size and seed sees the same customers."""
    one = pm.fit_purchase_model("pareto_nbd", cdnow_cells, sample_size=1500, seed=3)
    two = pm.fit_purchase_model("pareto_nbd", cdnow_cells, sample_size=1500, seed=3)
    mbg = pm.fit_purchase_model("mbgnbd", cdnow_cells, sample_size=1500, seed=3)
    assert one.sampled and one.n_customers_fitted == mbg.n_customers_fitted == 1500
    assert one.n_cells_fitted == mbg.n_cells_fitted
    assert one.params == two.params and one.standard_errors == two.standard_errors


def test_failures_are_retried_then_raised(cdnow_cells) -> None:
    nobody_repeats = cdnow_cells.assign(frequency=0, recency=0.0)
    for name in ("pareto_nbd", "mbgnbd"):
        with pytest.raises(ClvFitError) as raised:
            pm.fit_purchase_model(name, nobody_repeats)
        assert pm.MODEL_LABELS[name] in str(raised.value)
        assert [a.penalizer for a in raised.value.attempts] == [0.0, 0.001, 0.01, 0.1]
    with pytest.raises(ValueError, match="recency is greater than T"):
        pm.fit_pareto_nbd(cdnow_cells.assign(recency=cdnow_cells["T"] + 1))
    with pytest.raises(ValueError, match="purchase model must be one of"):
        pm.fit_purchase_model("pareto", cdnow_cells)


# --- closed-form scores --------------------------------------------------------------------------


@pytest.mark.parametrize("model_name", MODEL_NAMES)
def test_scores_match_lifetimes(cdnow: pd.DataFrame, fits, model_name: str) -> None:
    x, t_x, age = _history(cdnow)
    fit, reference = fits[model_name], _reference(model_name, fits[model_name].params)
    np.testing.assert_allclose(
        pm.probability_alive(model_name, fit, x, t_x, age),
        reference.conditional_probability_alive(x, t_x, age),
        rtol=1e-10,
    )
    for t in (1.0, 13.0, 39.0, 78.0):
        np.testing.assert_allclose(
            pm.expected_purchases(model_name, fit, t, x, t_x, age),
            reference.conditional_expected_number_of_purchases_up_to_time(t, x, t_x, age),
            rtol=1e-9,
        )


def test_mbgnbd_expected_purchases_stay_finite_for_heavy_buyers() -> None:
    params = {"r": 0.25, "alpha": 30.0, "a": 0.8, "b": 2.4}
    x = np.array([0, 1, 50, 300, 1000, 3000.0])
    t_x = np.where(x > 0, 1499.0, 0.0)
    values = pm.expected_purchases("mbgnbd", params, 365, x, t_x, 1500.0)
    assert np.all(np.isfinite(values)) and np.all(np.diff(values) > 0)
    assert 0.8 * 3000 / 1500 * 365 < values[-1] < 3000 / 1500 * 365


def test_churn_by_hand() -> None:
    """One customer, x = 2, t_x = 30, T = 39, t = 13, by hand for BG/NBD and MBG/NBD."""
    params = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}
    none_if_alive = (43 / 56) ** 2.25  # ((alpha + T) / (alpha + T + t))^(r + x)
    bg_alive = 1 / (1 + 0.8 / 3.5 * (43 / 34) ** 2.25)  # a / (b + x - 1)
    mbg_alive = 1 / (1 + 0.8 / 4.5 * (43 / 34) ** 2.25)  # a / (b + x)
    assert none_if_alive == pytest.approx(0.551926, abs=1e-6)
    for model_name, alive in (("bgnbd", bg_alive), ("mbgnbd", mbg_alive)):
        churn = pm.churn_probability(model_name, params, 13.0, 2, 30.0, 39.0)[0]
        assert churn == pytest.approx(1 - alive * (1 - none_if_alive), rel=1e-12)
    # MBG/NBD's one-time buyer can be dead: P(alive) = 1 / (1 + a / b ((alpha + T) / alpha)^r)
    mbg_new = 1 / (1 + 0.8 / 2.5 * (43 / 4) ** 0.25)
    assert pm.probability_alive("mbgnbd", params, 0, 0.0, 39.0)[0] == pytest.approx(mbg_new)
    assert pm.probability_alive("bgnbd", params, 0, 0.0, 39.0)[0] == 1.0


# --- the number of purchases in the window -------------------------------------------------------


@pytest.mark.parametrize("model_name", MODEL_NAMES)
def test_pmf_sums_to_one_and_has_the_expected_mean(cdnow: pd.DataFrame, fits, model_name) -> None:
    x, t_x, age = _history(cdnow)
    fit, reference = fits[model_name], _reference(model_name, fits[model_name].params)
    for t in (1.0, 39.0, 104.0):
        pmf = pm.purchase_count_pmf(model_name, fit, t, 250, x, t_x, age)
        assert pmf.shape == (len(x), 251) and (pmf >= 0).all()
        np.testing.assert_allclose(pmf.sum(axis=1), 1.0, atol=1e-12)
        mean = reference.conditional_expected_number_of_purchases_up_to_time(t, x, t_x, age)
        np.testing.assert_allclose(pmf @ np.arange(251), mean, rtol=1e-9, atol=1e-12)
        # P(N = 0) is the churn probability over the same window
        np.testing.assert_allclose(
            pmf[:, 0], pm.churn_probability(model_name, fit, t, x, t_x, age), atol=1e-12
        )


def test_bgnbd_pmf_by_hand() -> None:
    """N = min(K, J), K ~ NBD(r + x, alpha + T, t), J ~ Geometric(p), p ~ Beta(a, b + x)."""
    params = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}
    r, alpha, a, b = params.values()
    x, t_x, age, t = 2, 30.0, 39.0, 13.0
    k, q = r + x, (alpha + age) / (alpha + age + t)
    nbd = [
        math.gamma(k + n) / math.gamma(k) / math.factorial(n) * q**k * (1 - q) ** n
        for n in (0, 1, 2)
    ]
    beta = lambda p_, q_: math.gamma(p_) * math.gamma(q_) / math.gamma(p_ + q_)  # noqa: E731
    b_post = b + x
    keep = [beta(a, b_post + n) / beta(a, b_post) for n in (0, 1, 2)]  # E[(1 - p)^n]
    drop = [beta(a + 1, b_post + n - 1) / beta(a, b_post) for n in (1, 2)]  # E[p (1 - p)^(n-1)]
    given_alive = [
        nbd[0],
        nbd[1] * keep[1] + (1 - nbd[0]) * drop[0],
        nbd[2] * keep[2] + (1 - nbd[0] - nbd[1]) * drop[1],
    ]
    alive = pm.probability_alive("bgnbd", params, x, t_x, age)[0]
    expected = [1 - alive + alive * given_alive[0], alive * given_alive[1], alive * given_alive[2]]
    pmf = pm.purchase_count_pmf("bgnbd", params, t, 2, x, t_x, age)[0]
    np.testing.assert_allclose(pmf, expected, rtol=1e-12)


def test_pareto_nbd_pmf_equals_lifetimes(cdnow: pd.DataFrame, fits) -> None:
    """lifetimes' closed form (Hardie's note 028), scalar only: a few customers and counts."""
    fit = fits["pareto_nbd"]
    reference = _reference("pareto_nbd", fit.params)
    x, t_x, age = _history(cdnow)
    rows = [0, 1, 5, 100, 2000, int(np.argmax(x))]
    for t in (13.0, 39.0):
        pmf = pm.purchase_count_pmf("pareto_nbd", fit, t, 8, x[rows], t_x[rows], age[rows])
        for i, row in enumerate(rows):
            for n in (0, 1, 2, 5, 8):
                theirs = reference.conditional_probability_of_n_purchases_up_to_time(
                    n, t, x[row], t_x[row], age[row]
                )
                assert pmf[i, n] == pytest.approx(theirs, abs=1e-12), (t, row, n)
    # a short-lived population (s = 3, beta = 20 days) at T = 10, over a year: the worst case
    params = {"r": 2.0, "alpha": 30.0, "s": 3.0, "beta": 20.0}
    reference = _reference("pareto_nbd", params)
    pmf = pm.purchase_count_pmf("pareto_nbd", params, 365.0, 60, [50.0], [95.0], [100.0])[0]
    for n in (0, 10, 20, 40):
        theirs = reference.conditional_probability_of_n_purchases_up_to_time(
            n, 365.0, 50, 95.0, 100.0
        )
        assert pmf[n] == pytest.approx(theirs, abs=1e-6)


@pytest.mark.parametrize("model_name", MODEL_NAMES)
def test_pmf_matches_an_exact_simulation(model_name: str) -> None:
    """Simulate each model over calibration (39 weeks) and holdout (39 weeks); among customers
    with the same calibration frequency x, the holdout purchases are distributed as the mean of
    the conditional pmf over those customers' own (x, t_x, T): conditioning on x alone needs no
    binning of t_x. Each share within 4.5 binomial standard errors (plus 0.002)."""
    params = {
        "bgnbd": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
        "pareto_nbd": {"r": 0.553, "alpha": 10.58, "s": 0.606, "beta": 11.67},
        "mbgnbd": {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614},
    }[model_name]
    simulated = pm.simulate_purchases(model_name, params, 200_000, 39.0, 39.0, seed=7)
    for x in (0, 1, 2, 4):
        group = simulated[simulated["frequency"] == x]
        pmf = pm.purchase_count_pmf(
            model_name, params, 39.0, 12, group["frequency"], group["recency"], group["T"]
        ).mean(axis=0)
        observed = np.bincount(np.minimum(group["holdout_purchases"], 12), minlength=13) / len(
            group
        )
        tolerance = 4.5 * np.sqrt(pmf * (1 - pmf) / len(group)) + 0.002
        assert np.all(np.abs(observed[:12] - pmf[:12]) < tolerance[:12]), (x, observed, pmf)
        assert len(group) > 5000


@pytest.mark.parametrize("model_name", MODEL_NAMES)
def test_interval_is_the_pmf_quantiles(cdnow: pd.DataFrame, fits, model_name: str) -> None:
    x, t_x, age = _history(cdnow)
    fit = fits[model_name]
    cdf = pm.purchase_count_pmf(model_name, fit, 52.0, 300, x, t_x, age).cumsum(axis=1)
    for level in (0.5, 0.8, 0.95):
        low, high = pm.purchase_interval(model_name, fit, 52.0, x, t_x, age, level)
        tail = (1 - level) / 2
        np.testing.assert_array_equal(low, (cdf < tail - 1e-12).sum(axis=1))
        np.testing.assert_array_equal(high, (cdf < 1 - tail - 1e-12).sum(axis=1))
        assert (low <= high).all() and (low == np.round(low)).all()
    # heavy buyers who are likely alive: an interval around their expectation
    alive = pm.probability_alive(model_name, fit, x, t_x, age)
    heavy = np.flatnonzero((x >= 10) & (alive > 0.9))
    low, high = pm.purchase_interval(model_name, fit, 52.0, x[heavy], t_x[heavy], age[heavy])
    mean = pm.expected_purchases(model_name, fit, 52.0, x[heavy], t_x[heavy], age[heavy])
    assert len(heavy) > 10 and ((low <= mean) & (mean <= high)).all()


def test_interval_by_hand_for_a_one_time_buyer() -> None:
    """BG/NBD, x = 0: alive for sure; P(N = 0) = (alpha + T)^r / (alpha + T + t)^r."""
    params = {"r": 1.0, "alpha": 10.0, "a": 1.0, "b": 1e6}  # p ~ 0: almost never drops out
    # N ~ NBD(1, rate 20, t = 20): geometric with P(N = n) = 0.5^(n + 1); P(N <= n) = 1 - 0.5^(n+1)
    low, high = pm.purchase_interval("bgnbd", params, 20.0, [0], [0.0], [10.0], level=0.8)
    assert (low[0], high[0]) == (0, 3)  # 1 - 0.5^1 = 0.5 >= 0.1; 1 - 0.5^4 = 0.9375 >= 0.9
    low, high = pm.purchase_interval("bgnbd", params, 0.0, [0, 5], [0.0, 9.0], [10.0, 10.0])
    assert low.tolist() == high.tolist() == [0, 0]  # an empty window


# --- next purchase ------------------------------------------------------------------------------


@pytest.mark.parametrize("model_name", MODEL_NAMES)
def test_next_purchase_time_reaches_the_probability(cdnow: pd.DataFrame, fits, model_name) -> None:
    x, t_x, age = _history(cdnow)
    fit = fits[model_name]
    alive = pm.probability_alive(model_name, fit, x, t_x, age)
    for q in (0.3, 0.5):
        found = pm.time_to_next_purchase(model_name, fit, q, 52.0, x, t_x, age)
        ok = np.isfinite(found)
        assert ok.any() and not (ok & (alive <= q)).any()
        rows = np.flatnonzero(ok)[:200]
        none_by_then = np.array(
            [pm.churn_probability(model_name, fit, found[i], x[i], t_x[i], age[i])[0] for i in rows]
        )
        np.testing.assert_allclose(none_by_then, 1 - q, atol=1e-9)
        # NaN only when P(alive) <= q or the probability is not reached within the window
        missed = np.flatnonzero(~ok & (alive > q))
        if len(missed):
            at_end = pm.churn_probability(
                model_name, fit, 52.0, x[missed], t_x[missed], age[missed]
            )
            assert (1 - at_end < q + 1e-9).all()


def test_next_purchase_closed_form_by_hand() -> None:
    params = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}
    alive = pm.probability_alive("bgnbd", params, 2, 30.0, 39.0)[0]  # 0.720616
    # P(no purchase by t) = 1 - alive + alive (43 / (43 + t))^2.25 = 0.5
    t = 43 * ((1 - 0.5 / alive) ** (-1 / 2.25) - 1)
    assert pm.time_to_next_purchase("bgnbd", params, 0.5, 100.0, 2, 30.0, 39.0)[0] == (
        pytest.approx(t, rel=1e-12)
    )
    assert math.isnan(pm.time_to_next_purchase("bgnbd", params, 0.5, t * 0.99, 2, 30.0, 39.0)[0])
    assert math.isnan(pm.time_to_next_purchase("bgnbd", params, 0.75, 1e9, 2, 30.0, 39.0)[0])


# --- settings ------------------------------------------------------------------------------------

BASE_CONFIG = {
    "clv_prediction_days": "365",
    "churn_horizon_days": "90",
    "clv_time_unit": "day",
    "clv_fit_sample_size": "100000",
    "clv_fit_seed": "42",
    "clv_penalizers": "[0.0, 0.001, 0.01, 0.1]",
    "clv_monthly_discount_rate": "0",
}


def test_settings_read_the_model_card_vars() -> None:
    defaults = ClvSettings.from_config(BASE_CONFIG.get)
    assert (defaults.interval_level, defaults.next_order_probability) == (0.8, 0.5)
    assert (defaults.model, defaults.backtest_days) == ("auto", 90)
    config = BASE_CONFIG | {
        "clv_prediction_interval_level": "0.9",
        "clv_next_order_probability": 0.6,
        "clv_model": "pareto_nbd",
        "clv_backtest_days": "273",
    }
    settings = ClvSettings.from_config(config.get)
    assert (settings.interval_level, settings.next_order_probability) == (0.9, 0.6)
    assert (settings.model, settings.backtest_days) == ("pareto_nbd", 273.0)
    for key, bad in [
        ("clv_prediction_interval_level", "1"),
        ("clv_prediction_interval_level", "eighty"),
        ("clv_next_order_probability", "0"),
        ("clv_model", "bg_nbd"),
        ("clv_backtest_days", "-5"),
    ]:
        with pytest.raises(ValueError, match=key):
            ClvSettings.from_config((BASE_CONFIG | {key: bad}).get)


# --- fit and score tables ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cells_table(cdnow_cells: pd.DataFrame) -> pd.DataFrame:
    """CDNOW cells as int_customers_aggregated_to_cells gives them (weeks, lower-case t)."""
    table = cdnow_cells.rename(columns={"T": "t"})
    table.insert(
        0,
        "cell_id",
        [
            f"{f}-{r:g}-{t:g}"
            for f, r, t in zip(table["frequency"], table["recency"], table["t"], strict=True)
        ],
    )
    return table


@pytest.fixture(scope="module")
def repeat_customers() -> pd.DataFrame:
    spend = load_cdnow_summary_data_with_monetary_value()
    return spend.loc[spend["frequency"] > 0, ["frequency", "monetary_value"]]


READY = pd.DataFrame({"check_name": ["customers_with_valid_order"], "passed": [True]})
NOT_READY = pd.DataFrame({"check_name": ["history_days", "recent_order"], "passed": [False, True]})
WEEKS = ClvSettings(prediction_days=91, churn_horizon_days=28, time_unit="week", backtest_days=273)


def _metric(fit: pd.DataFrame, model_name: str, metric: str):
    row = fit[(fit["model_name"] == model_name) & (fit["metric"] == metric)]
    assert len(row) == 1, (model_name, metric)
    value, detail = row["value"].iloc[0], row["detail"].iloc[0]
    return detail if pd.isna(value) else value


def test_fit_clv_fits_only_the_chosen_model(cells_table, repeat_customers) -> None:
    chosen = pd.DataFrame(
        {"model_name": ["pareto_nbd"], "choice_reason": ["chosen by the backtest: lowest ..."]}
    )
    fit = fit_clv(cells_table, repeat_customers, READY, WEEKS, chosen)
    assert list(fit.columns) == FIT_COLUMNS
    assert fit.dtypes.astype(str).tolist() == ["string", "string", "float64", "float64", "string"]
    # the chosen model only: no rows for the others
    assert list(dict.fromkeys(fit["model_name"])) == ["clv", "pareto_nbd", "gamma_gamma"]
    assert _metric(fit, "pareto_nbd", "status") == "fitted"
    assert _metric(fit, "gamma_gamma", "status") == "fitted"
    assert _metric(fit, "clv", "purchase_model") == "pareto_nbd"
    assert _metric(fit, "clv", "purchase_model_choice") == "chosen by the backtest: lowest ..."
    assert round(_metric(fit, "pareto_nbd", "alpha"), 2) == 10.58
    for metric in (
        "log_likelihood",
        "converged",
        "penalizer",
        "fit_seconds",
        "n_cells",
        "n_cells_fitted",
        "n_customers",
        "n_customers_fitted",
        "sampled",
    ):
        assert not pd.isna(_metric(fit, "pareto_nbd", metric)), metric
    errors = fit[
        (fit["model_name"] == "pareto_nbd") & fit["metric"].isin(["r", "alpha", "s", "beta"])
    ]
    assert errors["std_error"].gt(0).all() and len(errors) == 4
    clv = {
        m: _metric(fit, "clv", m)
        for m in (
            "prediction_days",
            "churn_horizon_days",
            "time_unit_days",
            "interval_level",
            "next_order_probability",
            "discount_factor",
        )
    }
    assert clv == {
        "prediction_days": 91,
        "churn_horizon_days": 28,
        "time_unit_days": 7,
        "interval_level": 0.8,
        "next_order_probability": 0.5,
        "discount_factor": 1.0,
    }
    assert "bg_nbd" not in set(fit["model_name"])


def test_fit_clv_without_a_choice(cells_table, repeat_customers) -> None:
    forced = fit_clv(
        cells_table, repeat_customers, READY, ClvSettings(time_unit="week", model="mbgnbd")
    )
    assert _metric(forced, "clv", "purchase_model") == "mbgnbd"
    assert _metric(forced, "clv", "purchase_model_choice") == "forced by var clv_model"
    assert _metric(forced, "mbgnbd", "status") == "fitted"
    auto = fit_clv(cells_table, repeat_customers, NOT_READY, ClvSettings(time_unit="week"))
    assert _metric(auto, "clv", "purchase_model") == "bgnbd"
    assert "var clv_model is auto" in _metric(auto, "clv", "purchase_model_choice")
    assert _metric(auto, "bgnbd", "status") == "not_ready"
    assert _metric(auto, "bgnbd", "status_detail") == "readiness checks failed: history_days"
    assert _metric(auto, "gamma_gamma", "status") == "not_ready"
    assert not (auto["model_name"] == "pareto_nbd").any()
    with pytest.raises(ValueError, match="int_clv_model_chosen: model_name"):
        fit_clv(
            cells_table,
            repeat_customers,
            READY,
            WEEKS,
            pd.DataFrame({"model_name": ["bg_nbd"], "choice_reason": ["x"]}),
        )


def test_fit_backtest_fits_every_model(cells_table, repeat_customers, monkeypatch) -> None:
    fit = fit_backtest(cells_table, repeat_customers, READY, WEEKS)
    for name in (*MODEL_NAMES, "gamma_gamma"):
        assert _metric(fit, name, "status") == "fitted", name
    assert _metric(fit, "clv", "prediction_days") == 273
    assert _metric(fit, "clv", "churn_horizon_days") == 28
    assert _metric(fit, "bgnbd", "log_likelihood") == pytest.approx(-9582.4, abs=0.1)
    assert not (fit["metric"] == "purchase_model").any()
    shorter = fit_backtest(
        cells_table, repeat_customers, READY, ClvSettings(time_unit="week", backtest_days=60)
    )
    assert _metric(shorter, "clv", "churn_horizon_days") == 60

    not_ready = fit_backtest(cells_table, repeat_customers, NOT_READY, WEEKS)
    assert {_metric(not_ready, m, "status") for m in (*MODEL_NAMES, "gamma_gamma")} == {"not_ready"}

    from lifetimes.utils import ConvergenceError

    def never(self, *args, **kwargs):
        raise ConvergenceError("The model did not converge.")

    monkeypatch.setattr(ModifiedBetaGeoFitter, "fit", never)
    one_failed = fit_backtest(cells_table, repeat_customers, READY, WEEKS)
    assert _metric(one_failed, "mbgnbd", "status") == "failed"
    assert "MBG/NBD fit failed" in _metric(one_failed, "mbgnbd", "status_detail")
    assert _metric(one_failed, "pareto_nbd", "status") == "fitted"


def test_score_cells_from_fit(cells_table, repeat_customers) -> None:
    backtest = fit_backtest(cells_table, repeat_customers, READY, WEEKS)
    scored = score_cells_from_fit(cells_table, backtest)
    assert list(scored.columns) == SCORE_COLUMNS
    assert scored.dtypes.astype(str).tolist() == ["string", "string"] + ["float64"] * 7
    assert len(scored) == 3 * len(cells_table)
    assert list(dict.fromkeys(scored["model_name"])) == list(MODEL_NAMES)
    for _, rows in scored.groupby("model_name", sort=False):
        assert rows["cell_id"].tolist() == sorted(cells_table["cell_id"])
    # deterministic whatever the input order
    shuffled = score_cells_from_fit(cells_table.sample(frac=1, random_state=3), backtest)
    pd.testing.assert_frame_equal(scored, shuffled)

    # the same numbers as the purchase models', windows converted from days to weeks
    pareto = scored[scored["model_name"] == "pareto_nbd"].set_index("cell_id")
    cell = cells_table.set_index("cell_id").loc[pareto.index]
    params = {p: _metric(backtest, "pareto_nbd", p) for p in ("r", "alpha", "s", "beta")}
    x, t_x, age = cell["frequency"], cell["recency"], cell["t"]
    np.testing.assert_allclose(
        pareto["expected_purchases"], pm.expected_purchases("pareto_nbd", params, 39, x, t_x, age)
    )
    np.testing.assert_allclose(
        pareto["churn_probability"], pm.churn_probability("pareto_nbd", params, 4, x, t_x, age)
    )
    weeks = pm.time_to_next_purchase("pareto_nbd", params, 0.5, 39, x, t_x, age)
    np.testing.assert_allclose(pareto["days_to_next_purchase"], weeks * 7)
    assert (pareto["days_to_next_purchase"].dropna() <= 273).all()
    assert (
        pareto["days_to_next_purchase"].notna().any()
        and pareto["days_to_next_purchase"].isna().any()
    )
    assert (pareto["purchases_low"] <= pareto["purchases_high"]).all()
    # the interval's probability is the pmf summed over [low, high]: at least the level, 0.8
    pmf = pm.purchase_count_pmf("pareto_nbd", params, 39, 200, x, t_x, age)
    counts = np.arange(pmf.shape[1])
    inside = (counts >= pareto["purchases_low"].to_numpy()[:, None]) & (
        counts <= pareto["purchases_high"].to_numpy()[:, None]
    )
    np.testing.assert_allclose(pareto["interval_probability"], (pmf * inside).sum(axis=1))
    assert (pareto["interval_probability"] >= 0.8 - 1e-9).all()


def test_score_without_a_fitted_model_keeps_every_cell(cells_table, repeat_customers) -> None:
    chosen = pd.DataFrame({"model_name": ["mbgnbd"], "choice_reason": ["forced by var clv_model"]})
    fit = fit_clv(cells_table, repeat_customers, NOT_READY, WEEKS, chosen)
    scored = score_cells_from_fit(cells_table, fit)
    assert len(scored) == len(cells_table) and set(scored["model_name"]) == {"mbgnbd"}
    assert scored[SCORE_COLUMNS[2:]].isna().all().all()
    assert scored.dtypes.astype(str).tolist() == ["string", "string"] + ["float64"] * 7
    only_clv = fit[fit["model_name"] == "gamma_gamma"]
    assert set(score_cells_from_fit(cells_table, only_clv)["model_name"]) == {"bgnbd"}


# --- the dbt Python models, with a stand-in for dbt ----------------------------------------------


class _FakeDbt:
    """What a dbt Python model uses: ref(), config() and config.get(), recorded."""

    def __init__(self, refs: dict[str, pd.DataFrame], config: dict[str, object]) -> None:
        self.refs, self.values, self.read_refs, self.read_keys = refs, config, [], []
        fake = self

        class _Config:
            def __call__(self, **kwargs) -> None:
                fake.materialized = kwargs.get("materialized")

            def get(self, key: str, default=None):
                fake.read_keys.append(key)
                return fake.values.get(key, default)

        self.config = _Config()

    def ref(self, name: str) -> pd.DataFrame:
        self.read_refs.append(name)
        return self.refs[name]


def _run_python_model(name: str, dbt: _FakeDbt) -> pd.DataFrame:
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "python_models" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"python_model_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.model(dbt, None)


MODEL_CARD_KEYS = {
    "clv_prediction_interval_level",
    "clv_next_order_probability",
    "clv_model",
    "clv_backtest_days",
}


def test_dbt_python_models(cells_table, repeat_customers) -> None:
    config = BASE_CONFIG | {"clv_time_unit": "week", "clv_backtest_days": "273"}
    upper = cells_table.rename(columns=str.upper)  # as Snowflake would return them
    chosen = pd.DataFrame({"MODEL_NAME": ["mbgnbd"], "CHOICE_REASON": ["chosen by the backtest"]})
    refs = {
        "int_clv_backtest_cells": upper,
        "int_clv_backtest_repeat_spend": repeat_customers.assign(customer_id="c"),
        "int_clv_backtest_readiness_checked": READY,
        "int_customers_aggregated_to_cells": upper,
        "int_customers_filtered_to_repeat_spend": repeat_customers,
        "int_clv_readiness_checked": READY,
        "int_clv_model_chosen": chosen,
    }
    backtest = _FakeDbt(refs, config)
    refs["clv_backtest_fit"] = _run_python_model("clv_backtest_fit", backtest)
    assert backtest.materialized == "table" and MODEL_CARD_KEYS <= set(backtest.read_keys)
    assert _metric(refs["clv_backtest_fit"], "clv", "prediction_days") == 273
    scored = _run_python_model("clv_backtest_cell_predictions", _FakeDbt(refs, config))
    assert set(scored["model_name"]) == set(MODEL_NAMES) and list(scored.columns) == SCORE_COLUMNS

    current = _FakeDbt(refs, config)
    refs["clv_model_fit"] = _run_python_model("clv_model_fit", current)
    assert "int_clv_model_chosen" in current.read_refs and MODEL_CARD_KEYS <= set(current.read_keys)
    assert _metric(refs["clv_model_fit"], "clv", "purchase_model") == "mbgnbd"
    scored = _run_python_model("clv_cell_predictions", _FakeDbt(refs, config))
    assert set(scored["model_name"]) == {"mbgnbd"} and len(scored) == len(cells_table)

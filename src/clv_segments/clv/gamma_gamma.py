"""Gamma-Gamma spend model (Fader, Hardie and Lee 2005, "RFM and CLV"; Hardie's note 025).

A repeat customer's mean order value m over x repeat purchases is modelled as the mean of x
Gamma(p, nu) draws, with nu ~ Gamma(q, v) across customers; `lifetimes.GammaGammaFitter` fits
(p, q, v). Only customers with frequency > 0 and a positive mean value enter the fit.

Money scale. The likelihood is scale-equivariant (amounts in cents give the same p and q and a
v one hundred times larger), but lifetimes' penalizer ``coef * (p^2 + q^2 + v^2)`` and its
starting point (all parameters 1.1) are not. So the fit runs on m divided by its (weighted) mean,
and v and its standard error are multiplied back: the maximum likelihood estimate is unchanged,
the optimiser starts near it and a penalizer means the same in every currency.

The independence assumption (spend does not depend on purchase frequency) is worth watching:
`GammaGammaFit.frequency_spend_correlation` is the Pearson correlation between frequency and mean
order value over the customers eligible for the fit.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from clv_segments.clv.bgnbd import as_counts, sample_cell_counts
from clv_segments.clv.penalized_fit import (
    DEFAULT_PENALIZERS,
    ClvFitError,
    FitAttempt,
    Solution,
    fit_with_penalizers,
)

__all__ = [
    "GammaGammaFit",
    "expected_average_order_value",
    "fit_gamma_gamma",
    "gamma_gamma_log_likelihood",
]

PARAM_NAMES: tuple[str, ...] = ("p", "q", "v")


@dataclass(frozen=True)
class GammaGammaFit:
    """A converged Gamma-Gamma fit and what the diagnostics mart reports about it.

    Attributes:
        p, q, v: the parameters (v in the currency of the monetary values).
        standard_errors: per parameter, from lifetimes' ``variance_matrix_`` (delta method on the
            autograd Hessian of the mean penalised negative log-likelihood in log-parameter space,
            ``se_i = theta_i * sqrt(inv(H)_ii / N)``, N the customers fitted).
        log_likelihood: total unpenalised log-likelihood over the customers fitted, in the
            original money units.
        converged: always True on a returned fit (see `fit_gamma_gamma`).
        penalizer: lifetimes ``penalizer_coef`` of the kept fit, on the mean-scaled money units.
        attempts: every attempt in order, failed ones with their error.
        fit_seconds: wall time of `fit_gamma_gamma`.
        n_rows: rows given; n_customers: customers eligible (frequency > 0 and monetary value
            > 0, weights summed); n_customers_fitted: those in the (possibly sampled) fit.
        sampled, sample_size, seed: the sampling settings.
        frequency_spend_correlation: Pearson correlation of frequency and mean order value over
            the eligible customers (weighted); near 0 supports Gamma-Gamma's independence
            assumption. NaN when either is constant.
    """

    p: float
    q: float
    v: float
    standard_errors: dict[str, float]
    log_likelihood: float
    converged: bool
    penalizer: float
    attempts: tuple[FitAttempt, ...]
    fit_seconds: float
    n_rows: int
    n_customers: int
    n_customers_fitted: int
    sampled: bool
    frequency_spend_correlation: float
    sample_size: int | None = None
    seed: int | None = None

    @property
    def params(self) -> dict[str, float]:
        """The parameters as a dict {p, q, v}."""
        return {"p": self.p, "q": self.q, "v": self.v}

    @property
    def population_mean_order_value(self) -> float:
        """E[mean order value] for a customer with no repeat purchase: p * v / (q - 1)."""
        return self.p * self.v / (self.q - 1.0)

    @property
    def retried(self) -> bool:
        """True when at least one attempt failed before this fit."""
        return len(self.attempts) > 1


def _params(fit: GammaGammaFit | Mapping[str, float]) -> tuple[float, float, float]:
    if isinstance(fit, Mapping):
        return float(fit["p"]), float(fit["q"]), float(fit["v"])
    return float(fit.p), float(fit.q), float(fit.v)


def _weighted_pearson(x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> float:
    total = weights.sum()
    dx = x - (weights * x).sum() / total
    dy = y - (weights * y).sum() / total
    var_x, var_y = (weights * dx * dx).sum(), (weights * dy * dy).sum()
    if var_x <= 0 or var_y <= 0:
        return math.nan
    return float((weights * dx * dy).sum() / math.sqrt(var_x * var_y))


def gamma_gamma_log_likelihood(
    params: Mapping[str, float] | GammaGammaFit,
    frequency: Any,
    monetary_value: Any,
    weights: Any | None = None,
) -> float:
    """Total unpenalised Gamma-Gamma log-likelihood (Hardie's note 025, eq. 1a)."""
    from lifetimes import GammaGammaFitter

    p, q, v = _params(params)
    frequency = np.asarray(frequency, dtype=float)
    weights = np.ones(len(frequency)) if weights is None else np.asarray(weights, dtype=float)
    with np.errstate(all="ignore"):
        mean_nll = GammaGammaFitter._negative_log_likelihood(
            np.log([p, q, v]), frequency, np.asarray(monetary_value, dtype=float), weights, 0.0
        )
    return float(-mean_nll * weights.sum())


def fit_gamma_gamma(
    frequency: Any,
    monetary_value: Any,
    weights: Any | None = None,
    sample_size: int | None = None,
    seed: int = 0,
    penalizers: Sequence[float] = DEFAULT_PENALIZERS,
) -> GammaGammaFit:
    """Fit Gamma-Gamma on repeat customers with ``lifetimes.GammaGammaFitter``.

    Args:
        frequency: repeat purchases per row (x).
        monetary_value: mean net value of the repeat purchases per row (m).
        weights: customers per row (positive integers), or None for one customer per row.
        sample_size: above this many eligible customers, fit on a seeded uniform sample of
            them drawn without replacement (parameters are population-level).
        seed: seed of the sample.
        penalizers: tried in order until a fit is usable. A fit is usable when the optimiser
            converged, p, q and v / mean(m) lie in `PARAM_BOUNDS`, the standard errors are finite,
            and q > 1 (otherwise the population mean order value p v / (q - 1) is undefined).

    Rows with frequency 0, or a null or non-positive monetary value, are left out of the fit.

    Raises:
        ValueError: inputs of different lengths, negative or fractional frequencies, bad weights.
        ClvFitError: no eligible customer, or no penalizer gave a usable fit (``.attempts``).
    """
    from lifetimes import GammaGammaFitter

    started = time.perf_counter()
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(monetary_value, dtype=float)
    if x.shape != m.shape or x.ndim != 1:
        raise ValueError(
            f"frequency and monetary_value must be 1-d and of equal length, got {x.shape} "
            f"and {m.shape}"
        )
    if np.any(~np.isfinite(x) | (x < 0) | (x != np.round(x))):
        raise ValueError("frequency must be non-negative whole numbers without nulls")
    counts = np.ones(len(x), dtype=np.int64) if weights is None else as_counts(weights, "weights")
    if len(counts) != len(x):
        raise ValueError(f"weights has {len(counts)} rows, frequency has {len(x)}")
    eligible = (x > 0) & np.isfinite(m) & (m > 0)
    x, m, counts = x[eligible], m[eligible], counts[eligible]
    n_customers = int(counts.sum())
    if n_customers == 0:
        raise ClvFitError(
            "Gamma-Gamma: no customer with a repeat purchase and a positive mean order value"
        )
    correlation = _weighted_pearson(x, m, counts.astype(float))

    sampled = sample_size is not None and n_customers > sample_size
    fit_weights = sample_cell_counts(counts, sample_size, seed) if sampled else counts
    keep = fit_weights > 0
    x, m, fit_weights = x[keep], m[keep], fit_weights[keep]
    scale = float((fit_weights * m).sum() / fit_weights.sum())

    def solve(penalizer: float) -> Solution:
        fitter = GammaGammaFitter(penalizer_coef=penalizer).fit(x, m / scale, weights=fit_weights)
        params = {name: float(fitter.params_[name]) for name in PARAM_NAMES}
        errors = {name: float(fitter.standard_errors_[name]) for name in PARAM_NAMES}
        scaled_v = params["v"]
        params["v"] *= scale
        errors["v"] *= scale
        problem = None
        if not params["q"] > 1.0:
            problem = (
                f"q = {params['q']:.6g} <= 1: the population mean order value "
                "p * v / (q - 1) is undefined"
            )
        return Solution(
            params=params,
            standard_errors=errors,
            log_likelihood=gamma_gamma_log_likelihood(params, x, m, fit_weights),
            bounded={"p": params["p"], "q": params["q"], "v / mean monetary value": scaled_v},
            problem=problem,
        )

    solution, penalizer, attempts = fit_with_penalizers(
        solve,
        penalizers,
        f"Gamma-Gamma fit failed on {int(fit_weights.sum())} repeat customers",
    )
    return GammaGammaFit(
        **solution.params,
        standard_errors=solution.standard_errors,
        log_likelihood=solution.log_likelihood,
        converged=True,
        penalizer=penalizer,
        attempts=attempts,
        fit_seconds=time.perf_counter() - started,
        n_rows=int(eligible.size),
        n_customers=n_customers,
        n_customers_fitted=int(fit_weights.sum()),
        sampled=sampled,
        frequency_spend_correlation=correlation,
        sample_size=sample_size,
        seed=seed,
    )


def expected_average_order_value(
    frequency: Any, monetary_value: Any, fit: GammaGammaFit | Mapping[str, float]
) -> np.ndarray:
    """E[mean order value | x, m] (note 025, eq. 5), vectorised.

    A credibility-weighted mean of the customer's own m and the population mean p v / (q - 1),
    with weight p x / (p x + q - 1) on m. Customers with x = 0 get the population mean (their
    monetary value is ignored, so it may be null).
    """
    p, q, v = _params(fit)
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(monetary_value, dtype=float)
    population_mean = p * v / (q - 1.0)
    individual_weight = p * x / (p * x + q - 1.0)
    with np.errstate(invalid="ignore"):
        blended = (1.0 - individual_weight) * population_mean + individual_weight * m
    return np.where(x > 0, blended, population_mean)

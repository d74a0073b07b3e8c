"""Candidate purchase models, fitted on cells and scored per cell: BG/NBD, Pareto/NBD, MBG/NBD.

Every model sees a customer through (x, t_x, T) = (frequency, recency, T): x repeat purchase
occasions, the last at t_x, observed for T model time units since the first purchase. While
alive a customer buys as a Poisson process of rate lambda ~ Gamma(r, alpha) across customers;
the models differ in how customers die:

- ``bgnbd`` (Fader, Hardie and Lee 2005, lifetimes.BetaGeoFitter): after each repeat purchase,
  with probability p ~ Beta(a, b);
- ``mbgnbd`` (Batislam, Denizel and Filiztekin 2007, lifetimes.ModifiedBetaGeoFitter): the
  same, and also right after the first purchase (so one-time buyers can be dead);
- ``pareto_nbd`` (Schmittlein, Morrison and Colombo 1987, lifetimes.ParetoNBDFitter): at an
  exponential time of rate mu ~ Gamma(s, beta), whatever they buy.

Parameters are named as lifetimes names them (`PARAM_NAMES`); alpha and beta are in model time
units, like the cells' recency and T (see `clv_segments.clv.bgnbd` for the units and for the cells).

Fitting. BG/NBD and MBG/NBD are fitted with lifetimes (autograd gradients and Hessian).
lifetimes' ParetoNBDFitter.fit runs Nelder-Mead from a *random* start and reports no standard
errors; on a 100,000-customer sample of 1M simulated daily customers (51,000 cells) it took 21 s.
So `fit_pareto_nbd` maximises the same likelihood (`pareto_nbd_log_likelihood`, equal to
lifetimes' ``_conditional_log_likelihood`` to 1e-14) itself: L-BFGS-B on log-parameters from a
fixed start, with the Gauss hypergeometric terms evaluated once per distinct (x, t_x) and
(x, T) instead of once per cell, and in Euler's transformed form so that they cannot overflow;
standard errors from a finite-difference Hessian, as lifetimes does for the other models with
autograd. It finds lifetimes' optimum in about 1.4 s there, and reproduces Fader and Hardie's
published CDNOW estimates. Its penalty is ``coef * sum(params**2)`` on the mean negative
log-likelihood with time rescaled to max(T) = 1, as lifetimes' BG/NBD (lifetimes' Pareto/NBD
adds it to the *summed* likelihood, which makes the same coefficient far weaker). All three go
through `clv_segments.clv.penalized_fit.fit_with_penalizers` like Gamma-Gamma.

Scoring, per cell and vectorised (t is a window in model time units after T):

- `probability_alive`, `expected_purchases` (closed forms);
- `churn_probability`: P(no purchase in (T, T + t]);
- `purchase_count_pmf` and `purchase_interval`: the conditional distribution of the number of
  purchases N(t) in the window, and a central interval of it. P(N = n) = (1 - P(alive)) [n = 0]
  + P(alive) P(N = n | alive). Given alive, lambda ~ Gamma(r + x, alpha + T), and
  * BG/NBD: p ~ Beta(a, b + x) (MBG/NBD: Beta(a, b + x + 1), one more survived drop-out
    chance); N = min(K, J), K ~ Poisson(lambda t) and J ~ Geometric(p) the purchase after which
    the customer drops, so P(N = n | alive) = NBD(n) E[(1 - p)^n] + P(K >= n) E[p (1 - p)^(n-1)]
    for n >= 1 and P(K = 0) for n = 0, with NBD(r + x, alpha + T, exposure t) and Beta moments
    as ratios of beta functions (all by recurrence in n);
  * Pareto/NBD: the remaining lifetime tau is Lomax, P(tau > u) = ((beta + T)/(beta + T + u))^s,
    and N | tau is NBD with exposure min(tau, t). The mixture over tau is integrated by
    Gauss-Legendre on the survival scale v = P(tau > u) in [P(tau > t), 1] (`PARETO_NODES`
    nodes, so the weights are exactly the probability mass of tau below t), plus the atom
    P(tau > t) at u = t. Against lifetimes' closed form (Hardie's note 028) it agrees to
    1e-12 on ordinary cells and to 1e-6 at worst on customers who die within days.
  The distribution depends on the cell only through (x, T) and P(alive), so it is computed once
  per distinct (x, T) and n, for the groups still needing it, and each cell reads its quantiles.
- `time_to_next_purchase`: the t at which P(at least one purchase in (T, T + t]) reaches a
  probability q: for BG/NBD and MBG/NBD t = (alpha + T) ((1 - q / P(alive))^(-1 / (r + x)) - 1)
  when P(alive) > q; for Pareto/NBD that probability is P(alive) H(t) with H(t) the integral of
  the closed-form density P(tau > u) (r + x) / (alpha + T) ((alpha + T) / (alpha + T + u))^(r+x+1),
  tabulated per (x, T) with Gauss-Legendre panels and solved per cell by Newton's method (H is
  concave, so Newton from the left cannot overshoot).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit, gammaln, hyp2f1

from clv_segments.clv import bgnbd
from clv_segments.clv.bgnbd import prepare_cells
from clv_segments.clv.penalized_fit import (
    DEFAULT_PENALIZERS,
    FitAttempt,
    Solution,
    fit_with_penalizers,
)

__all__ = [
    "MODEL_LABELS",
    "MODEL_NAMES",
    "PARAM_NAMES",
    "PARETO_NODES",
    "PurchaseModelFit",
    "churn_probability",
    "expected_purchases",
    "fit_mbgnbd",
    "fit_pareto_nbd",
    "fit_purchase_model",
    "log_likelihood",
    "mbgnbd_log_likelihood",
    "pareto_nbd_log_likelihood",
    "probability_alive",
    "purchase_count_pmf",
    "purchase_interval",
    "score_purchase_model",
    "simulate_purchases",
    "time_to_next_purchase",
]

MODEL_NAMES: tuple[str, ...] = ("bgnbd", "pareto_nbd", "mbgnbd")
"""The purchase models, as the var ``clv_model`` and the fit table's model_name name them."""

MODEL_LABELS: Mapping[str, str] = {
    "bgnbd": "BG/NBD",
    "pareto_nbd": "Pareto/NBD",
    "mbgnbd": "MBG/NBD",
}

PARAM_NAMES: Mapping[str, tuple[str, ...]] = {
    "bgnbd": ("r", "alpha", "a", "b"),
    "pareto_nbd": ("r", "alpha", "s", "beta"),
    "mbgnbd": ("r", "alpha", "a", "b"),
}

PARETO_NODES = 40
"""Gauss-Legendre nodes of the Pareto/NBD lifetime mixture (per cell group and n)."""

_PANELS, _PANEL_NODES = 16, 8  # Pareto/NBD next-purchase time: graded panels, nodes each
_MAX_COUNT = 100_000  # purchase_interval gives up (NaN) beyond this many purchases
_TOLERANCE = 1e-12  # of the cumulative probabilities compared with the quantile levels


@dataclass(frozen=True)
class PurchaseModelFit:
    """A converged purchase-model fit and what the diagnostics mart reports about it.

    The fields mean what `clv_segments.clv.bgnbd.BgNbdFit`'s do, for any of `MODEL_NAMES`:
    ``params`` and ``standard_errors`` by `PARAM_NAMES` (alpha, beta in model time units),
    ``log_likelihood`` the total unpenalised log-likelihood over the customers fitted in model
    time units, the kept ``penalizer``, every ``attempt``, the wall time, and the cells and
    customers given and fitted (fewer when ``sampled``).
    """

    model_name: str
    params: dict[str, float]
    standard_errors: dict[str, float]
    log_likelihood: float
    converged: bool
    penalizer: float
    attempts: tuple[FitAttempt, ...]
    fit_seconds: float
    n_cells: int
    n_cells_fitted: int
    n_customers: int
    n_customers_fitted: int
    sampled: bool
    sample_size: int | None = None
    seed: int | None = None

    @property
    def retried(self) -> bool:
        """True when at least one attempt failed before this fit."""
        return len(self.attempts) > 1


# --------------------------------------------------------------------------------------------
# Inputs


def _check_model(model_name: str) -> str:
    if model_name not in MODEL_NAMES:
        raise ValueError(
            f"purchase model must be one of {', '.join(MODEL_NAMES)}, got {model_name!r}"
        )
    return model_name


def _params(model_name: str, params: Mapping[str, float] | PurchaseModelFit) -> list[float]:
    values = params.params if isinstance(params, PurchaseModelFit) else params
    return [float(values[name]) for name in PARAM_NAMES[_check_model(model_name)]]


def _arrays(*values: Any) -> list[np.ndarray]:
    return list(np.broadcast_arrays(*(np.asarray(value, dtype=float) for value in values)))


def _factorize_pairs(first: np.ndarray, second: np.ndarray):
    """The distinct (first, second) pairs, sorted, and each row's index into them."""
    order = np.lexsort((second, first))
    a, b = first[order], second[order]
    new = np.ones(len(a), dtype=bool)
    new[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    inverse = np.empty(len(a), dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    return a[new], b[new], inverse


class _Cells:
    """Cells as float arrays, with their distinct (x, T) and (x, t_x) pairs found once.

    Given alive, a model's future depends on a cell only through (x, T); the Pareto/NBD
    likelihood's hypergeometric terms through (x, t_x) and (x, T). Those pairs repeat far more
    than the cells do (1M simulated customers: 460,000 cells, 38,000 distinct (x, T)).
    """

    def __init__(self, frequency: Any, recency: Any, age: Any) -> None:
        self.x, self.t_x, self.age = (
            np.ascontiguousarray(np.atleast_1d(a)) for a in _arrays(frequency, recency, age)
        )

    def __len__(self) -> int:
        return len(self.x)

    @cached_property
    def by_age(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x, T) of each distinct pair, and each cell's index into them."""
        return _factorize_pairs(self.x, self.age)

    @cached_property
    def by_last(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x, t_x) of each distinct pair, and each cell's index into them."""
        return _factorize_pairs(self.x, self.t_x)


# --------------------------------------------------------------------------------------------
# Pareto/NBD likelihood (Fader and Hardie's note 009, eq. 18-20)


def _log_hyp2f1_rsf(rsf: np.ndarray, second: np.ndarray, z: np.ndarray) -> np.ndarray:
    """log 2F1(rsf, second; rsf + 1; z) for 0 <= z < 1.

    For second > 1 the series diverges like (1 - z)^(1 - second) as z -> 1 (a heavy buyer's
    r + x): Euler's transformation, 2F1 = (1 - z)^(1 - second) 2F1(1, rsf + 1 - second; rsf + 1;
    z), keeps the hypergeometric factor bounded and the power in logs.
    """
    euler = second > 1.0
    if euler.all():
        return (1.0 - second) * np.log1p(-z) + np.log(hyp2f1(1.0, rsf + 1.0 - second, rsf + 1.0, z))
    out = np.empty(rsf.shape)
    e, p = euler, ~euler
    out[e] = (1.0 - second[e]) * np.log1p(-z[e]) + np.log(
        hyp2f1(1.0, rsf[e] + 1.0 - second[e], rsf[e] + 1.0, z[e])
    )
    out[p] = np.log(hyp2f1(rsf[p], second[p], rsf[p] + 1.0, z[p]))
    return out


class _ParetoCells:
    """The Pareto/NBD likelihood of cells, its 2F1 terms computed once per distinct argument.

    log A_0 needs 2F1 at (x, t_x) and at (x, T): 74,000 distinct pairs for the 460,000 cells of
    1M simulated customers.
    """

    def __init__(self, cells: _Cells) -> None:
        self.last, self.end = cells.by_last, cells.by_age
        # the terms that depend on x alone or T alone, computed per distinct value
        self.x_values, self.x_index = np.unique(cells.x, return_inverse=True)
        self.age_values, self.age_index = np.unique(cells.age, return_inverse=True)

    def log_a0(self, r: float, alpha: float, s: float, beta: float) -> np.ndarray:
        """log A_0 per cell: log of the integral over the death time in (t_x, T]."""
        big, d = max(alpha, beta), abs(alpha - beta)
        terms = []
        for x, tau, inverse in (self.last, self.end):
            rsf = r + s + x
            second = np.full(len(x), s + 1.0) if alpha >= beta else r + x
            log_f = _log_hyp2f1_rsf(rsf, second, d / (big + tau))
            terms.append((log_f - rsf * np.log(big + tau))[inverse])
        at_last, at_end = terms
        with np.errstate(divide="ignore"):
            return at_last + np.log1p(-np.exp(np.minimum(at_end - at_last, 0.0)))

    def _alive_and_died(self, r: float, alpha: float, s: float, beta: float):
        """log of the likelihood's two terms, but for the constant: alive at T, died before."""
        x, x_index = self.x_values, self.x_index
        age, age_index = self.age_values, self.age_index
        k = (r + x)[x_index]
        alive = -k * np.log(alpha + age)[age_index] - (s * np.log(beta + age))[age_index]
        died = (math.log(s) - np.log(r + s + x))[x_index] + self.log_a0(r, alpha, s, beta)
        return alive, died

    def log_likelihood(self, r: float, alpha: float, s: float, beta: float) -> np.ndarray:
        """Each cell's log-likelihood (one customer)."""
        alive, died = self._alive_and_died(r, alpha, s, beta)
        const = gammaln(r + self.x_values) - gammaln(r) + r * math.log(alpha) + s * math.log(beta)
        return const[self.x_index] + np.logaddexp(alive, died)

    def log_odds_dead(self, r: float, alpha: float, s: float, beta: float) -> np.ndarray:
        alive, died = self._alive_and_died(r, alpha, s, beta)
        return died - alive


def _weights(weights: Any | None, n: int) -> np.ndarray:
    return np.ones(n) if weights is None else np.asarray(weights, dtype=float)


def pareto_nbd_log_likelihood(
    params: Mapping[str, float] | PurchaseModelFit,
    frequency: Any,
    recency: Any,
    age: Any,
    weights: Any | None = None,
) -> float:
    """Total unpenalised Pareto/NBD log-likelihood, in the data's time units."""
    cells = _ParetoCells(_Cells(frequency, recency, age))
    with np.errstate(all="ignore"):
        rows = cells.log_likelihood(*_params("pareto_nbd", params))
    return float((_weights(weights, len(rows)) * rows).sum())


def mbgnbd_log_likelihood(
    params: Mapping[str, float] | PurchaseModelFit,
    frequency: Any,
    recency: Any,
    age: Any,
    weights: Any | None = None,
) -> float:
    """Total unpenalised MBG/NBD log-likelihood (lifetimes' own), in the data's time units."""
    from lifetimes import ModifiedBetaGeoFitter

    x = np.asarray(frequency).astype(int)
    w = _weights(weights, len(x))
    with np.errstate(all="ignore"):
        mean_nll = ModifiedBetaGeoFitter._negative_log_likelihood(
            np.log(_params("mbgnbd", params)),
            x,
            np.asarray(recency, dtype=float),
            np.asarray(age, dtype=float),
            w,
            0.0,
        )
    return float(-mean_nll * w.sum())


def log_likelihood(
    model_name: str,
    params: Mapping[str, float] | PurchaseModelFit,
    frequency: Any,
    recency: Any,
    age: Any,
    weights: Any | None = None,
) -> float:
    """Total unpenalised log-likelihood of any of `MODEL_NAMES`, in the data's time units.

    For CDNOW in weeks: BG/NBD -9582.4 (FHL 2005), Pareto/NBD -9595.0 (Fader and Hardie's note
    008). Depends on the time unit, by sum(x) * log(7) between days and weeks.
    """
    if _check_model(model_name) == "bgnbd":
        values = params.params if isinstance(params, PurchaseModelFit) else params
        return bgnbd.bgnbd_log_likelihood(values, frequency, recency, age, weights)
    if model_name == "mbgnbd":
        return mbgnbd_log_likelihood(params, frequency, recency, age, weights)
    return pareto_nbd_log_likelihood(params, frequency, recency, age, weights)


# --------------------------------------------------------------------------------------------
# Fitting


def _numerical_hessian(function: Any, point: np.ndarray, step: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of a smooth scalar function (4 evaluations per entry)."""
    size = len(point)
    hessian = np.empty((size, size))
    center = function(point)
    eye = np.eye(size) * step
    for i in range(size):
        hessian[i, i] = (
            function(point + eye[i]) - 2.0 * center + function(point - eye[i])
        ) / step**2
        for j in range(i):
            hessian[i, j] = hessian[j, i] = (
                function(point + eye[i] + eye[j])
                - function(point + eye[i] - eye[j])
                - function(point - eye[i] + eye[j])
                + function(point - eye[i] - eye[j])
            ) / (4.0 * step**2)
    return hessian


def _pareto_solution(data: bgnbd.CellSample, penalizer: float) -> Solution:
    """One penalised Pareto/NBD fit: L-BFGS-B on log-parameters, time rescaled to max T = 1."""
    from lifetimes.utils import ConvergenceError

    scale = 1.0 / float(data.age.max())
    cells = _ParetoCells(_Cells(data.frequency, data.recency * scale, data.age * scale))
    weights = data.weights.astype(float)
    total = float(weights.sum())

    def objective(log_params: np.ndarray) -> float:
        params = np.exp(log_params)
        with np.errstate(all="ignore"):
            value = -(weights * cells.log_likelihood(*params)).sum() / total
        value += penalizer * float((params**2).sum())
        return float(value) if math.isfinite(value) else 1e300

    result = minimize(
        objective,
        np.zeros(4),
        method="L-BFGS-B",
        bounds=[(-25.0, 25.0)] * 4,
        options={"ftol": 1e-12, "gtol": 1e-8, "maxiter": 2000},
    )
    if not result.success:
        raise ConvergenceError(f"L-BFGS-B did not converge: {result.message}")
    scaled = np.exp(result.x)
    # se_i = theta_i * sqrt(inv(H)_ii / N), H the Hessian of the mean penalised objective in
    # log-parameters (lifetimes' formula for its other fitters).
    variance = np.linalg.inv(_numerical_hessian(objective, result.x)) / total
    names = PARAM_NAMES["pareto_nbd"]
    params = dict(zip(names, scaled.tolist(), strict=True))
    params["alpha"] /= scale
    params["beta"] /= scale
    with np.errstate(invalid="ignore"):
        errors = {
            name: float(params[name] * np.sqrt(variance[i, i])) for i, name in enumerate(names)
        }
    return Solution(
        params=params,
        standard_errors=errors,
        log_likelihood=pareto_nbd_log_likelihood(
            params, data.frequency, data.recency, data.age, data.weights
        ),
        bounded=params
        | {
            "alpha (time rescaled to max T = 1)": float(scaled[1]),
            "beta (time rescaled to max T = 1)": float(scaled[3]),
        },
    )


def _mbgnbd_solution(data: bgnbd.CellSample, penalizer: float) -> Solution:
    from lifetimes import ModifiedBetaGeoFitter

    fitter = ModifiedBetaGeoFitter(penalizer_coef=penalizer).fit(
        data.frequency, data.recency, data.age, weights=data.weights
    )
    names = PARAM_NAMES["mbgnbd"]
    params = {name: float(fitter.params_[name]) for name in names}
    return Solution(
        params=params,
        standard_errors={name: float(fitter.standard_errors_[name]) for name in names},
        log_likelihood=mbgnbd_log_likelihood(
            params, data.frequency, data.recency, data.age, data.weights
        ),
        bounded=params | {"alpha (time rescaled to max T = 1)": params["alpha"] * fitter._scale},
    )


_SOLVERS = {"pareto_nbd": _pareto_solution, "mbgnbd": _mbgnbd_solution}


def _fit_cells(
    model_name: str,
    cells: pd.DataFrame,
    sample_size: int | None,
    seed: int,
    penalizers: Sequence[float],
) -> PurchaseModelFit:
    started = time.perf_counter()
    label = MODEL_LABELS[model_name]
    data = prepare_cells(cells, sample_size, seed, label)
    solution, penalizer, attempts = fit_with_penalizers(
        lambda penalizer: _SOLVERS[model_name](data, penalizer),
        penalizers,
        f"{label} fit failed on {data.n_cells_fitted} cells ({data.n_customers_fitted} customers)",
    )
    return PurchaseModelFit(
        model_name=model_name,
        params=solution.params,
        standard_errors=solution.standard_errors,
        log_likelihood=solution.log_likelihood,
        converged=True,
        penalizer=penalizer,
        attempts=attempts,
        fit_seconds=time.perf_counter() - started,
        n_cells=data.n_cells,
        n_cells_fitted=data.n_cells_fitted,
        n_customers=data.n_customers,
        n_customers_fitted=data.n_customers_fitted,
        sampled=data.sampled,
        sample_size=sample_size,
        seed=seed,
    )


def fit_pareto_nbd(
    cells: pd.DataFrame,
    sample_size: int | None = None,
    seed: int = 0,
    penalizers: Sequence[float] = DEFAULT_PENALIZERS,
) -> PurchaseModelFit:
    """Fit Pareto/NBD on cells (weights = n_customers); arguments as `bgnbd.fit_bgnbd`.

    Raises:
        ValueError: invalid cells. ClvFitError: no penalizer gave a usable fit.
    """
    return _fit_cells("pareto_nbd", cells, sample_size, seed, penalizers)


def fit_mbgnbd(
    cells: pd.DataFrame,
    sample_size: int | None = None,
    seed: int = 0,
    penalizers: Sequence[float] = DEFAULT_PENALIZERS,
) -> PurchaseModelFit:
    """Fit MBG/NBD on cells with lifetimes.ModifiedBetaGeoFitter; arguments as `fit_bgnbd`.

    Raises:
        ValueError: invalid cells. ClvFitError: no penalizer gave a usable fit.
    """
    return _fit_cells("mbgnbd", cells, sample_size, seed, penalizers)


def fit_purchase_model(
    model_name: str,
    cells: pd.DataFrame,
    sample_size: int | None = None,
    seed: int = 0,
    penalizers: Sequence[float] = DEFAULT_PENALIZERS,
) -> PurchaseModelFit:
    """Fit one of `MODEL_NAMES` on cells, sampled as `bgnbd.fit_bgnbd` samples.

    The same ``sample_size`` and ``seed`` give every model the same customers.
    """
    if _check_model(model_name) != "bgnbd":
        return _fit_cells(model_name, cells, sample_size, seed, penalizers)
    fit = bgnbd.fit_bgnbd(cells, sample_size, seed, penalizers)
    return PurchaseModelFit(
        model_name="bgnbd",
        params=fit.params,
        standard_errors=dict(fit.standard_errors),
        log_likelihood=fit.log_likelihood,
        converged=fit.converged,
        penalizer=fit.penalizer,
        attempts=fit.attempts,
        fit_seconds=fit.fit_seconds,
        n_cells=fit.n_cells,
        n_cells_fitted=fit.n_cells_fitted,
        n_customers=fit.n_customers,
        n_customers_fitted=fit.n_customers_fitted,
        sampled=fit.sampled,
        sample_size=fit.sample_size,
        seed=fit.seed,
    )


# --------------------------------------------------------------------------------------------
# Scores. Each public function validates its inputs and computes P(alive) once; the private
# ones below take it, so that `score_purchase_model` computes it once for all five scores.


def _cell_inputs(model_name, params, frequency, recency, age):
    values = _params(model_name, params)
    cells = _Cells(frequency, recency, age)
    return values, cells, _probability_alive(model_name, values, cells)


def _check_window(t: float, what: str = "t") -> float:
    t = float(t)
    if not t >= 0 or not math.isfinite(t):
        raise ValueError(f"{what} must be a finite number >= 0 (model time units), got {t}")
    return t


def _check_level(level: float, what: str) -> float:
    level = float(level)
    if not 0.0 < level < 1.0:
        raise ValueError(f"{what} must be strictly between 0 and 1, got {level}")
    return level


def _bgnbd_params(values: list[float]) -> dict[str, float]:
    return dict(zip(PARAM_NAMES["bgnbd"], values, strict=True))


def _probability_alive(model_name: str, values: list[float], cells: _Cells) -> np.ndarray:
    x, t_x, age = cells.x, cells.t_x, cells.age
    if model_name == "bgnbd":
        return bgnbd.probability_alive(x, t_x, age, _bgnbd_params(values))
    if model_name == "mbgnbd":
        r, alpha, a, b = values
        log_odds_dead = (
            math.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + age) - np.log(alpha + t_x))
        )
        return expit(-log_odds_dead)
    with np.errstate(all="ignore"):
        return expit(-_ParetoCells(cells).log_odds_dead(*values))


def probability_alive(
    model_name: str,
    params: Mapping[str, float] | PurchaseModelFit,
    frequency: Any,
    recency: Any,
    age: Any,
) -> np.ndarray:
    """P(alive at T | x, t_x, T).

    BG/NBD: `bgnbd.probability_alive` (1 for x = 0). MBG/NBD: 1 / (1 + a / (b + x) *
    ((alpha + T) / (alpha + t_x))^(r + x)). Pareto/NBD: 1 / (1 + s / (r + s + x) *
    (alpha + T)^(r + x) (beta + T)^s A_0) (note 009, eq. 36-37). All as logistic functions of
    the log-odds, so that heavy buyers do not overflow.
    """
    return _cell_inputs(model_name, params, frequency, recency, age)[-1]


def _log_no_purchase_if_alive(k: Any, rate: Any, t: float) -> np.ndarray:
    """log P(no purchase in t | Gamma(k, rate) purchase rate): the Gamma's Laplace transform."""
    return k * (np.log(rate) - np.log(rate + t))


def _expected_purchases(model_name, values, t, cells: _Cells, alive) -> np.ndarray:
    x, t_x, age = cells.x, cells.t_x, cells.age
    if model_name == "bgnbd":
        return bgnbd.expected_purchases(t, x, t_x, age, _bgnbd_params(values))
    if model_name == "mbgnbd":
        r, alpha, a, b = values
        one_minus_z = (alpha + age) / (alpha + age + t)
        hyp_term = hyp2f1(a + b - r, a - 1.0, a + b + x, 1.0 - one_minus_z)
        return alive * (a + b + x) / (a - 1.0) * (1.0 - hyp_term * one_minus_z ** (a - 1.0))
    r, alpha, s, beta = values
    log_survival = np.log(beta + age) - np.log(beta + age + t)  # log P(tau > t) / s
    if s == 1.0:
        mean_lifetime = -(beta + age) * log_survival
    else:
        mean_lifetime = (beta + age) * -np.expm1((s - 1.0) * log_survival) / (s - 1.0)
    return alive * (r + x) / (alpha + age) * mean_lifetime


def expected_purchases(
    model_name: str,
    params: Mapping[str, float] | PurchaseModelFit,
    t: float,
    frequency: Any,
    recency: Any,
    age: Any,
) -> np.ndarray:
    """E[purchases in (T, T + t] | x, t_x, T], t in model time units.

    BG/NBD: `bgnbd.expected_purchases`. MBG/NBD (lifetimes' formula after Euler's
    transformation, as for BG/NBD): P(alive) (a + b + x) / (a - 1) [1 - 2F1(a + b - r, a - 1;
    a + b + x; z) (1 - z)^(a - 1)], z = t / (alpha + T + t). Pareto/NBD: P(alive) (r + x) /
    (alpha + T) E[min(tau, t)], with E[min(tau, t)] = (beta + T) / (s - 1) [1 - ((beta + T) /
    (beta + T + t))^(s - 1)] (note 009, eq. 41).
    """
    t = _check_window(t)
    values, cells, alive = _cell_inputs(model_name, params, frequency, recency, age)
    return _expected_purchases(model_name, values, t, cells, alive)


# --- the number of purchases in the window: pmf, interval


class _BetaGeometricCounts:
    """P(N = n | alive) for BG/NBD and MBG/NBD, one n per call, for groups that can shrink."""

    def __init__(self, k, rate, a, b, t: float) -> None:
        with np.errstate(divide="ignore"):
            self.log_nbd = _log_no_purchase_if_alive(k, rate, t)  # log NBD(0)
            self.log_buy_odds = np.log(t) - np.log(rate + t)
        self.k, self.b = k, b
        self.a = np.full(k.shape, float(a))
        self.at_least = np.ones(k.shape)  # P(K >= n)
        self.log_survive = np.zeros(k.shape)  # log E[(1 - p)^n]
        self.n = 0

    def keep(self, mask: np.ndarray) -> None:
        for name in ("k", "b", "a", "log_buy_odds", "log_nbd", "at_least", "log_survive"):
            setattr(self, name, getattr(self, name)[mask])

    def next_pmf(self) -> np.ndarray:
        n = self.n
        self.n += 1
        if n == 0:
            return np.exp(self.log_nbd)
        a, b = self.a, self.b
        self.at_least = np.maximum(self.at_least - np.exp(self.log_nbd), 0.0)
        self.log_nbd = self.log_nbd + np.log((self.k + n - 1.0) / n) + self.log_buy_odds
        drop_at_n = a / (a + b + n - 1.0) * np.exp(self.log_survive)  # E[p (1 - p)^(n - 1)]
        self.log_survive = self.log_survive + np.log((b + n - 1.0) / (a + b + n - 1.0))
        return np.exp(self.log_nbd + self.log_survive) + self.at_least * drop_at_n


class _ParetoCounts:
    """P(N = n | alive) for Pareto/NBD: an NBD mixed over the exposure min(tau, t)."""

    def __init__(self, k, rate, death_rate, s: float, t: float, nodes: int) -> None:
        survival = np.exp(s * (np.log(death_rate) - np.log(death_rate + t)))  # P(tau > t)
        z, w = np.polynomial.legendre.leggauss(nodes)
        v = survival[:, None] + (1.0 - survival)[:, None] * (z + 1.0) / 2.0
        exposure = death_rate[:, None] * np.expm1(-np.log(v) / s)  # P(tau > exposure) = v
        exposure = np.minimum(np.hstack([exposure, np.full((len(k), 1), t)]), t)
        self.weights = np.hstack([(1.0 - survival)[:, None] / 2.0 * w, survival[:, None]])
        rate = rate[:, None]
        with np.errstate(divide="ignore"):
            self.log_buy_odds = np.log(exposure) - np.log(rate + exposure)
            self.log_nbd = k[:, None] * (np.log(rate) - np.log(rate + exposure))
        self.k = k
        self.n = 0

    def keep(self, mask: np.ndarray) -> None:
        for name in ("k", "weights", "log_buy_odds", "log_nbd"):
            setattr(self, name, getattr(self, name)[mask])

    def next_pmf(self) -> np.ndarray:
        n = self.n
        self.n += 1
        if n > 0:
            step = np.log((self.k + n - 1.0) / n)[:, None]
            self.log_nbd = self.log_nbd + step + self.log_buy_odds
        return (self.weights * np.exp(self.log_nbd)).sum(axis=1)


def _alive_counts(model_name: str, values: list[float], t: float, x, age):
    """The P(N = n | alive) generator for cells (or groups) with these x and T."""
    if model_name == "pareto_nbd":
        r, alpha, s, beta = values
        return _ParetoCounts(r + x, alpha + age, beta + age, s, t, PARETO_NODES)
    r, alpha, a, b = values
    b_given_alive = b + x + (1.0 if model_name == "mbgnbd" else 0.0)
    return _BetaGeometricCounts(r + x, alpha + age, a, b_given_alive, t)


def purchase_count_pmf(
    model_name: str,
    params: Mapping[str, float] | PurchaseModelFit,
    t: float,
    n_max: int,
    frequency: Any,
    recency: Any,
    age: Any,
) -> np.ndarray:
    """P(N(t) = n | x, t_x, T) for n = 0..n_max: an array of shape (cells, n_max + 1).

    N(t) counts the purchases in (T, T + t] (model time units); see the module docstring.
    """
    t = _check_window(t)
    values, cells, alive = _cell_inputs(model_name, params, frequency, recency, age)
    counts = _alive_counts(model_name, values, t, cells.x, cells.age)
    with np.errstate(divide="ignore", invalid="ignore"):
        pmf = np.column_stack([counts.next_pmf() for _ in range(int(n_max) + 1)])
    pmf *= alive[:, None]
    pmf[:, 0] += 1.0 - alive
    return pmf


def _count_quantiles(model_name, values, t, cells: _Cells, alive, levels):
    """Per cell, the smallest n with P(N <= n) >= each of ``levels`` (increasing).

    P(N <= n) = 1 - alive + alive * C(n), C the alive cumulative distribution, which depends on
    the cell only through (x, T): C is accumulated once per distinct (x, T), n = 0, 1, ..., and
    a group stops as soon as all its cells have their quantiles. Returns, per level, the
    quantiles n, C(n) and C(n - 1) (0 for n = 0).
    """
    group_x, group_age, group = cells.by_age
    with np.errstate(divide="ignore", invalid="ignore"):
        targets = [
            np.where(alive > 0, (level - 1.0 + alive) / alive, -np.inf) - _TOLERANCE
            for level in levels
        ]
    found = [np.full(len(cells), np.nan) for _ in levels]
    at_found = [np.full(len(cells), np.nan) for _ in levels]
    below_found = [np.full(len(cells), np.nan) for _ in levels]
    need = np.full(len(group_x), -np.inf)
    np.maximum.at(need, group, targets[-1])
    cumulative = np.zeros(len(group_x))
    open_cells = np.arange(len(cells))
    open_groups = np.arange(len(group_x))
    counts = _alive_counts(model_name, values, t, group_x, group_age)
    with np.errstate(divide="ignore", invalid="ignore"):
        for n in range(_MAX_COUNT + 1):
            previous = cumulative[group[open_cells]]
            cumulative[open_groups] += counts.next_pmf()
            reached = cumulative[group[open_cells]]
            levels_found = zip(targets, found, at_found, below_found, strict=True)
            for target, result, at, below in levels_found:
                hits = np.isnan(result[open_cells]) & (reached >= target[open_cells])
                hit = open_cells[hits]
                result[hit] = n
                at[hit] = reached[hits]
                below[hit] = previous[hits]
            open_cells = open_cells[np.isnan(found[-1][open_cells])]
            if len(open_cells) == 0:
                break
            done = cumulative[open_groups] >= need[open_groups]
            if done.any():
                counts.keep(~done)
                open_groups = open_groups[~done]
    return found, at_found, below_found


def _purchase_interval(model_name, values, t, cells: _Cells, alive, level):
    """(low, high, probability): the interval and the model's probability of landing in it.

    Counts are discrete, so a central ``level`` interval holds at least ``level`` of the
    probability and often much more (a cell with P(N = 0) = 0.85 gets [0, 1], which holds
    over 0.9): the backtest compares the observed coverage with this probability.
    """
    tail = (1.0 - level) / 2.0
    (low, high), (_, at_high), (below_low, _) = _count_quantiles(
        model_name, values, t, cells, alive, (tail, 1.0 - tail)
    )
    cdf_high = 1.0 - alive + alive * at_high
    cdf_below_low = np.where(low > 0, 1.0 - alive + alive * below_low, 0.0)
    return low, high, cdf_high - cdf_below_low


def purchase_interval(
    model_name: str,
    params: Mapping[str, float] | PurchaseModelFit,
    t: float,
    frequency: Any,
    recency: Any,
    age: Any,
    level: float = 0.8,
) -> tuple[np.ndarray, np.ndarray]:
    """A central ``level`` prediction interval of the purchases in (T, T + t], per cell.

    low = the smallest n with P(N(t) <= n) >= (1 - level) / 2, high = the smallest n with
    P(N(t) <= n) >= 1 - (1 - level) / 2 (whole numbers, as floats; NaN beyond 100,000).
    """
    t = _check_window(t)
    level = _check_level(level, "the interval level")
    values, cells, alive = _cell_inputs(model_name, params, frequency, recency, age)
    low, high, _ = _purchase_interval(model_name, values, t, cells, alive, level)
    return low, high


# --- no purchase in the window, and the time to the next purchase


class _FirstPurchase:
    """Pareto/NBD, given alive at T: when does the next purchase come, per (x, T) group?

    Its density is h(u) = P(tau > u) E[lambda exp(-lambda u)] = ((beta + T) / (beta + T + u))^s
    (r + x) (alpha + T)^(r + x) / (alpha + T + u)^(r + x + 1) (lambda and tau are independent
    given alive), and H(u), the probability of a purchase in (T, T + u], its integral: by
    Gauss-Legendre on panels graded towards 0, where heavy buyers' density falls fastest.
    """

    def __init__(self, values: list[float], x, age) -> None:
        r, alpha, s, beta = values
        self.s = s
        self.k = r + x
        self.rate = alpha + age
        self.death_rate = beta + age
        self.log_scale = s * np.log(self.death_rate) + np.log(self.k) + self.k * np.log(self.rate)

    def take(self, index: np.ndarray) -> _FirstPurchase:
        taken = object.__new__(_FirstPurchase)
        taken.s = self.s
        for name in ("k", "rate", "death_rate", "log_scale"):
            setattr(taken, name, getattr(self, name)[index])
        return taken

    def density(self, u, axis: tuple[None, ...] = ()) -> np.ndarray:
        """h(u); ``axis`` adds trailing axes to the group constants to broadcast with u."""
        at = (..., *axis)
        return np.exp(
            self.log_scale[at]
            - self.s * np.log(self.death_rate[at] + u)
            - (self.k[at] + 1.0) * np.log(self.rate[at] + u)
        )

    def gained(self, lo, hi, axis: tuple[None, ...] = ()) -> np.ndarray:
        """H(hi) - H(lo), by Gauss-Legendre with `_PANEL_NODES` nodes; lo, hi broadcast."""
        z, w = np.polynomial.legendre.leggauss(_PANEL_NODES)
        lo, hi = np.asarray(lo, dtype=float)[..., None], np.asarray(hi, dtype=float)[..., None]
        density = self.density(lo + (hi - lo) * (z + 1.0) / 2.0, (*axis, None))
        return ((hi - lo) / 2.0 * w * density).sum(axis=-1)

    def cumulative(self, edges: np.ndarray) -> np.ndarray:
        """H at ``edges`` (starting at 0), per group: shape (groups, len(edges))."""
        panels = self.gained(edges[None, :-1], edges[None, 1:], (None,))
        return np.hstack([np.zeros((len(self.k), 1)), np.cumsum(panels, axis=1)])


def _panel_edges(t: float) -> np.ndarray:
    """Panel edges on [0, t], graded towards 0 (quadratically)."""
    return t * (np.arange(_PANELS + 1) / _PANELS) ** 2


def _churn_probability(model_name, values, t, cells: _Cells, alive) -> np.ndarray:
    r, alpha = values[0], values[1]
    x, age = cells.x, cells.age
    with np.errstate(divide="ignore", invalid="ignore"):
        if model_name != "pareto_nbd":
            none_if_alive = np.exp(_log_no_purchase_if_alive(r + x, alpha + age, t))
        else:  # P(N(t) = 0 | alive) from the pmf's own quadrature, once per (x, T)
            group_x, group_age, group = cells.by_age
            none_if_alive = _alive_counts(model_name, values, t, group_x, group_age).next_pmf()
            none_if_alive = np.minimum(none_if_alive, 1.0)[group]
    return 1.0 - alive * (1.0 - none_if_alive)


def churn_probability(
    model_name: str,
    params: Mapping[str, float] | PurchaseModelFit,
    t: float,
    frequency: Any,
    recency: Any,
    age: Any,
) -> np.ndarray:
    """P(no purchase in (T, T + t] | x, t_x, T) = 1 - P(alive) (1 - P(none in t | alive)).

    Given alive, P(none in t) is ((alpha + T) / (alpha + T + t))^(r + x) for BG/NBD and
    MBG/NBD (the purchase rate's Laplace transform); for Pareto/NBD it is 1 minus the integral
    of the first-purchase density (module docstring).
    """
    t = _check_window(t)
    values, cells, alive = _cell_inputs(model_name, params, frequency, recency, age)
    return _churn_probability(model_name, values, t, cells, alive)


def _pareto_time_to_buy(values, target, max_t: float, cells: _Cells) -> np.ndarray:
    """Per cell, the t <= max_t with P(a purchase by T + t | alive) = target, else NaN."""
    out = np.full(len(cells), np.nan)
    wanted = np.flatnonzero(target < 1.0)  # P(alive) > q: the others never get there
    if len(wanted) == 0:
        return out
    group_x, group_age, all_groups = cells.by_age
    used, group = np.unique(all_groups[wanted], return_inverse=True)
    first = _FirstPurchase(values, group_x[used], group_age[used])
    edges = _panel_edges(max_t)
    cumulative = first.cumulative(edges)
    c = target[wanted]
    reachable = c <= cumulative[group, -1]
    wanted, group, c = wanted[reachable], group[reachable], c[reachable]
    panel = np.zeros(len(group), dtype=np.int64)  # the last edge below the target (edge 0 = 0)
    for edge in range(1, _PANELS):
        panel += cumulative[group, edge] < c
    lo, hi, base = edges[panel], edges[panel + 1], cumulative[group, panel]
    first = first.take(group)
    # H is concave (its density decreases), so Newton from the panel's left edge climbs to the
    # root without overshooting it.
    current = lo.copy()
    for _ in range(50):
        step = (c - base - first.gained(lo, current)) / first.density(current)
        current = np.clip(current + np.maximum(step, 0.0), lo, hi)
        if np.all(np.abs(step) <= 1e-10 * max(max_t, 1.0)):
            break
    out[wanted] = current
    return out


def _time_to_next_purchase(model_name, values, q, max_t, cells: _Cells, alive) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        target = np.where(alive > q, q / alive, np.inf)  # P(a purchase | alive) needed
        if model_name == "pareto_nbd":
            found = _pareto_time_to_buy(values, target, max_t, cells)
        else:
            r, alpha = values[0], values[1]
            found = (alpha + cells.age) * np.expm1(-np.log1p(-target) / (r + cells.x))
        return np.where(found <= max_t, found, np.nan)


def time_to_next_purchase(
    model_name: str,
    params: Mapping[str, float] | PurchaseModelFit,
    probability: float,
    max_t: float,
    frequency: Any,
    recency: Any,
    age: Any,
) -> np.ndarray:
    """The t at which P(at least one purchase in (T, T + t]) first reaches ``probability``.

    Model time units; NaN when that does not happen by ``max_t`` (including every customer
    whose P(alive) is at most ``probability``: the dead never buy). BG/NBD and MBG/NBD in
    closed form, (alpha + T) ((1 - q / P(alive))^(-1 / (r + x)) - 1); Pareto/NBD numerically.
    """
    q = _check_level(probability, "the next-order probability")
    max_t = _check_window(max_t, "max_t")
    values, cells, alive = _cell_inputs(model_name, params, frequency, recency, age)
    return _time_to_next_purchase(model_name, values, q, max_t, cells, alive)


# --- everything per cell


def score_purchase_model(
    model_name: str,
    params: Mapping[str, float] | PurchaseModelFit,
    frequency: Any,
    recency: Any,
    age: Any,
    prediction_t: float,
    churn_t: float,
    interval_level: float = 0.8,
    next_order_probability: float = 0.5,
) -> pd.DataFrame:
    """Every score of one model per cell (row order kept), windows in model time units.

    Columns: expected_purchases and purchases_low / purchases_high (the ``interval_level``
    interval) over ``prediction_t`` with interval_probability, the model's probability of a
    count inside it; probability_alive; churn_probability over ``churn_t``;
    time_to_next_purchase (model units; NaN when not within ``prediction_t``).
    """
    prediction_t = _check_window(prediction_t, "prediction window")
    churn_t = _check_window(churn_t, "churn horizon")
    level = _check_level(interval_level, "the interval level")
    q = _check_level(next_order_probability, "the next-order probability")
    values, cells, alive = _cell_inputs(model_name, params, frequency, recency, age)
    low, high, probability = _purchase_interval(
        model_name, values, prediction_t, cells, alive, level
    )
    return pd.DataFrame(
        {
            "expected_purchases": _expected_purchases(
                model_name, values, prediction_t, cells, alive
            ),
            "probability_alive": alive,
            "churn_probability": _churn_probability(model_name, values, churn_t, cells, alive),
            "purchases_low": low,
            "purchases_high": high,
            "interval_probability": probability,
            "time_to_next_purchase": _time_to_next_purchase(
                model_name, values, q, prediction_t, cells, alive
            ),
        }
    )


# --------------------------------------------------------------------------------------------
# Simulation (tests, benchmarks)


def simulate_purchases(
    model_name: str,
    params: Mapping[str, float],
    n: int,
    age: float,
    holdout_t: float,
    seed: int,
) -> pd.DataFrame:
    """Simulate customers of a model exactly: their (x, t_x, T) and purchases in (T, T + t].

    Returns frequency, recency, T (= ``age``) and holdout_purchases. Continuous time: purchases
    are a Poisson(lambda) process; BG/NBD customers drop after the J-th repeat purchase, J ~
    Geometric(p) (MBG/NBD: after J - 1, so possibly right after the first purchase);
    Pareto/NBD customers at tau ~ Exponential(mu).
    """
    values = _params(model_name, params)
    rng = np.random.default_rng(seed)
    end = age + holdout_t
    rate = rng.gamma(values[0], 1.0 / values[1], n)
    if model_name == "pareto_nbd":
        lifetime = rng.exponential(1.0 / rng.gamma(values[2], 1.0 / values[3], n))
        observed = np.minimum(lifetime, age)
        frequency = rng.poisson(rate * observed)
        holdout = rng.poisson(rate * np.clip(np.minimum(lifetime, end) - age, 0.0, None))
        recency = np.where(frequency > 0, observed * rng.beta(np.maximum(frequency, 1), 1.0), 0.0)
    else:
        dropout = np.maximum(rng.beta(values[2], values[3], n), np.finfo(float).tiny)
        before_dropout = rng.geometric(dropout) - (1 if model_name == "mbgnbd" else 0)
        events = rng.poisson(rate * end)
        in_calibration = rng.binomial(events, age / end)
        frequency = np.minimum(in_calibration, before_dropout)
        holdout = np.minimum(events, before_dropout) - frequency
        recency = np.zeros(n)
        repeat = frequency > 0
        recency[repeat] = age * rng.beta(
            frequency[repeat], in_calibration[repeat] - frequency[repeat] + 1
        )
    return pd.DataFrame(
        {
            "frequency": frequency,
            "recency": recency,
            "T": np.full(n, float(age)),
            "holdout_purchases": holdout,
        }
    )

"""BG/NBD purchase model, fitted and scored on sufficient statistics ("cells").

BG/NBD (Fader, Hardie and Lee 2005, "Counting your customers the easy way") sees a customer only
through (frequency, recency, T): x repeat purchase occasions, the time t_x of the last one and
the customer's age T, all measured from the first purchase. Customers sharing those three numbers
are interchangeable, so the SQL layer groups them into cells with a count ``n_customers``; this
module fits `lifetimes.BetaGeoFitter` on the cells with ``weights=n_customers`` (the same
likelihood as one row per customer, far fewer rows) and scores each cell once.

Time units. frequency is a count; recency, T and the fitted alpha are in *model time units* of
``time_unit_days`` days each: 1 for the default daily model (var ``clv_time_unit: day``), 7 for
weekly (``week``, used to compare with the literature). Windows are always given in days
(``clv_prediction_days``, ``churn_horizon_days``) and divided by ``time_unit_days`` here, so a
90-day churn horizon is t = 90 in a daily model and t = 90 / 7 in a weekly one.

Log-likelihood. lifetimes keeps ``_negative_log_likelihood_`` as the *mean* over customers (the
weights' sum), computed on times rescaled so that max(T) = 1, and including the penalty. Neither
is comparable with the literature, so `BgNbdFit.log_likelihood` is recomputed: the total
unpenalised log-likelihood over the customers fitted, in model time units (for CDNOW in weeks this
is FHL's -9582.4). It depends on the time unit (by sum(x) * log(7) between days and weeks).

Retries. The penalizer loop, `FitAttempt` and `ClvFitError` live in
`clv_segments.clv.penalized_fit`, shared by every CLV model, and are re-exported here for the
callers that import them from this module. The cell helpers here (`prepare_cells`,
`sample_cell_counts`, `aggregate_cells`) serve the other purchase models too
(`clv_segments.clv.purchase_models`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, hyp2f1

from clv_segments.clv.penalized_fit import (
    DEFAULT_PENALIZERS,
    PARAM_BOUNDS,
    ClvFitError,
    FitAttempt,
    Solution,
    check_solution,
    fit_with_penalizers,
    run_lifetimes_fit,
)

__all__ = [
    "DEFAULT_PENALIZERS",
    "PARAM_BOUNDS",
    "TIME_UNIT_DAYS",
    "BgNbdFit",
    "CellSample",
    "ClvFitError",
    "FitAttempt",
    "aggregate_cells",
    "as_counts",
    "bgnbd_log_likelihood",
    "check_solution",
    "churn_probability",
    "expected_purchases",
    "fit_bgnbd",
    "prepare_cells",
    "probability_alive",
    "run_lifetimes_fit",
    "sample_cell_counts",
    "score_cells",
    "simulate_bgnbd",
    "time_unit_days",
]

TIME_UNIT_DAYS: Mapping[str, float] = {"day": 1.0, "week": 7.0}
"""Days per model time unit, by value of the dbt var ``clv_time_unit``."""

PARAM_NAMES: tuple[str, ...] = ("r", "alpha", "a", "b")


@dataclass(frozen=True)
class BgNbdFit:
    """A converged BG/NBD fit and what the diagnostics mart reports about it.

    Attributes:
        r, alpha, a, b: the parameters; alpha is in model time units (see module docstring).
        standard_errors: per parameter, from lifetimes' ``variance_matrix_``: the delta method
            on the autograd Hessian of the mean (penalised) negative log-likelihood in
            log-parameter space at the optimum, ``se_i = theta_i * sqrt(inv(H)_ii / N)`` with N the
            customers fitted (so a sampled fit reports the sample's, larger, errors).
        log_likelihood: total unpenalised log-likelihood over the customers fitted, in model time
            units (comparable with FHL 2005's -9582.4 for CDNOW in weeks).
        converged: the optimiser reported success and the solution passed the sanity checks
            (finite parameters inside `PARAM_BOUNDS`, finite standard errors). A returned fit is
            always converged; failures raise `ClvFitError` instead.
        penalizer: the lifetimes ``penalizer_coef`` of the kept fit (0.0 unless retried).
        attempts: every attempt in order, failed ones with their error.
        fit_seconds: wall time of `fit_bgnbd` (sampling and every attempt).
        n_cells / n_customers: cells and customers given; n_cells_fitted / n_customers_fitted:
            those the likelihood was computed on (fewer when sampled).
        sampled: the fit used a uniform sample of customers (``sample_size`` < n_customers).
        sample_size, seed: the sampling settings.
    """

    r: float
    alpha: float
    a: float
    b: float
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
    def params(self) -> dict[str, float]:
        """The parameters as a dict {r, alpha, a, b}."""
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b}

    @property
    def retried(self) -> bool:
        """True when at least one attempt failed before this fit."""
        return len(self.attempts) > 1


# --------------------------------------------------------------------------------------------
# Input helpers


def time_unit_days(unit: str) -> float:
    """Days per model time unit for the var ``clv_time_unit`` ('day' or 'week')."""
    try:
        return TIME_UNIT_DAYS[unit]
    except KeyError:
        raise ValueError(
            f"clv_time_unit must be one of {sorted(TIME_UNIT_DAYS)}, got {unit!r}"
        ) from None


def _find_column(frame: pd.DataFrame, name: str) -> str:
    """The column called ``name``, matched case-insensitively (to_pandas lower-cases 'T')."""
    if name in frame.columns:
        return name
    matches = [column for column in frame.columns if str(column).lower() == name.lower()]
    if len(matches) == 1:
        return matches[0]
    raise ValueError(
        f"cells: expected one column {name!r} (any case), found {len(matches)}; "
        f"columns are {list(frame.columns)}"
    )


def _float_column(frame: pd.DataFrame, name: str) -> np.ndarray:
    column = _find_column(frame, name)
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(f"cells: column {column!r} has {int(bad.sum())} null or non-numeric rows")
    return values


def as_counts(values: Any, what: str) -> np.ndarray:
    """Positive integer counts as int64, or ValueError naming ``what``."""
    array = np.atleast_1d(np.asarray(values, dtype=float))
    bad = ~np.isfinite(array) | (array <= 0) | (array != np.round(array))
    if bad.any():
        raise ValueError(f"{what}: {int(bad.sum())} values are not positive integers")
    return array.astype(np.int64)


def _cell_arrays(
    cells: pd.DataFrame, model: str = "BG/NBD"
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validated (frequency, recency, T, n_customers) arrays from a cell table."""
    if len(cells) == 0:
        raise ClvFitError(f"{model}: the cell table is empty; there is nothing to fit")
    frequency = _float_column(cells, "frequency")
    recency = _float_column(cells, "recency")
    age = _float_column(cells, "T")
    counts = as_counts(cells[_find_column(cells, "n_customers")], "cells: column 'n_customers'")
    checks = {
        "frequency is negative or not a whole number": (frequency < 0)
        | (frequency != np.round(frequency)),
        "recency is negative": recency < 0,
        "recency is greater than T": recency > age,
        "recency is not 0 where frequency is 0": (frequency == 0) & (recency != 0),
    }
    for problem, mask in checks.items():
        if mask.any():
            raise ValueError(f"cells: {problem} in {int(mask.sum())} rows")
    if age.max() <= 0:
        raise ValueError(f"cells: every T is 0; {model} needs customers observed for some time")
    return frequency, recency, age, counts


def _params(fit: BgNbdFit | Mapping[str, float]) -> tuple[float, float, float, float]:
    if isinstance(fit, Mapping):
        return tuple(float(fit[name]) for name in PARAM_NAMES)  # type: ignore[return-value]
    return float(fit.r), float(fit.alpha), float(fit.a), float(fit.b)


def aggregate_cells(
    customers: pd.DataFrame,
    frequency: str = "frequency",
    recency: str = "recency",
    age: str = "T",
) -> pd.DataFrame:
    """Group one-row-per-customer summaries into cells.

    Python twin of the SQL model (tests and benchmarks use it). Returns columns frequency,
    recency, T, n_customers, one row per distinct (frequency, recency, T), sorted.
    """
    grouped = customers.groupby([frequency, recency, age], sort=True, as_index=False).size()
    grouped.columns = ["frequency", "recency", "T", "n_customers"]
    grouped["n_customers"] = grouped["n_customers"].astype(np.int64)
    return grouped


# --------------------------------------------------------------------------------------------
# Sampling


def sample_cell_counts(n_customers: Any, sample_size: int, seed: int) -> np.ndarray:
    """A seeded uniform sample of ``sample_size`` customers without replacement, as cell counts.

    Drawing customers without replacement from cells holding ``n_customers`` each is a
    multivariate hypergeometric draw on the counts, so no per-customer rows are ever built.
    Returns the number of sampled customers per cell (zeros included, same order). When
    ``sample_size`` >= the total, every customer is kept. Same seed, same sample.
    """
    counts = as_counts(n_customers, "n_customers")
    if sample_size <= 0:
        raise ValueError(f"clv_fit_sample_size must be a positive integer, got {sample_size}")
    if sample_size >= counts.sum():
        return counts.copy()
    rng = np.random.default_rng(seed)
    return rng.multivariate_hypergeometric(counts, int(sample_size), method="marginals")


@dataclass(frozen=True)
class CellSample:
    """The cells a purchase model is fitted on: validated, and sampled when asked.

    frequency, recency, age and weights hold only the cells with at least one customer in the
    fit (all cells unless sampled); n_cells and n_customers count the cells given.
    """

    frequency: np.ndarray
    recency: np.ndarray
    age: np.ndarray
    weights: np.ndarray
    n_cells: int
    n_customers: int
    sampled: bool

    @property
    def n_cells_fitted(self) -> int:
        return len(self.weights)

    @property
    def n_customers_fitted(self) -> int:
        return int(self.weights.sum())


def prepare_cells(
    cells: pd.DataFrame, sample_size: int | None, seed: int, model: str = "BG/NBD"
) -> CellSample:
    """Validate ``cells`` and, above ``sample_size`` customers, draw the seeded sample.

    The sample is `sample_cell_counts` of the cells' counts, so every model fitted with the same
    ``sample_size`` and ``seed`` sees the same customers. ``model`` names the model in errors.
    """
    frequency, recency, age, counts = _cell_arrays(cells, model)
    n_customers = int(counts.sum())
    sampled = sample_size is not None and n_customers > sample_size
    weights = sample_cell_counts(counts, sample_size, seed) if sampled else counts
    keep = weights > 0
    return CellSample(
        frequency=frequency[keep],
        recency=recency[keep],
        age=age[keep],
        weights=weights[keep],
        n_cells=len(counts),
        n_customers=n_customers,
        sampled=sampled,
    )


# --------------------------------------------------------------------------------------------
# Fitting


def bgnbd_log_likelihood(
    params: Mapping[str, float] | BgNbdFit,
    frequency: Any,
    recency: Any,
    age: Any,
    weights: Any | None = None,
) -> float:
    """Total unpenalised BG/NBD log-likelihood (FHL 2005 eq. 6), in the data's time units."""
    from lifetimes import BetaGeoFitter

    r, alpha, a, b = _params(params)
    frequency = np.asarray(frequency).astype(int)
    weights = np.ones(len(frequency)) if weights is None else np.asarray(weights, dtype=float)
    with np.errstate(all="ignore"):
        mean_nll = BetaGeoFitter._negative_log_likelihood(
            np.log([r, alpha, a, b]),
            frequency,
            np.asarray(recency, dtype=float),
            np.asarray(age, dtype=float),
            weights,
            0.0,
        )
    return float(-mean_nll * weights.sum())


def fit_bgnbd(
    cells: pd.DataFrame,
    sample_size: int | None = None,
    seed: int = 0,
    penalizers: Sequence[float] = DEFAULT_PENALIZERS,
) -> BgNbdFit:
    """Fit BG/NBD on cells with ``lifetimes.BetaGeoFitter(...).fit(..., weights=n_customers)``.

    Args:
        cells: one row per distinct (frequency, recency, T) with the count ``n_customers``
            (column names matched case-insensitively; times in model units).
        sample_size: when the cells hold more customers than this (var clv_fit_sample_size),
            fit on a seeded uniform sample of that many customers, drawn without replacement
            directly on the counts (`sample_cell_counts`). None: fit on everyone.
        seed: seed of the sample.
        penalizers: ``penalizer_coef`` values tried in order. lifetimes adds
            ``coef * sum(params**2)`` to the mean negative log-likelihood, with alpha on its
            rescaled (max T = 1) scale. A fit that raises, or whose solution fails
            `check_solution`, is retried with the next one.

    Raises:
        ValueError: invalid cells (the message names the column and the problem).
        ClvFitError: no penalizer gave a usable fit; ``.attempts`` lists each with its error.
    """
    from lifetimes import BetaGeoFitter

    started = time.perf_counter()
    data = prepare_cells(cells, sample_size, seed, "BG/NBD")

    def solve(penalizer: float) -> Solution:
        fitter = BetaGeoFitter(penalizer_coef=penalizer).fit(
            data.frequency, data.recency, data.age, weights=data.weights
        )
        params = {name: float(fitter.params_[name]) for name in PARAM_NAMES}
        return Solution(
            params=params,
            standard_errors={name: float(fitter.standard_errors_[name]) for name in PARAM_NAMES},
            log_likelihood=bgnbd_log_likelihood(
                params, data.frequency, data.recency, data.age, data.weights
            ),
            bounded=params
            | {"alpha (time rescaled to max T = 1)": params["alpha"] * fitter._scale},
        )

    solution, penalizer, attempts = fit_with_penalizers(
        solve,
        penalizers,
        f"BG/NBD fit failed on {data.n_cells_fitted} cells ({data.n_customers_fitted} customers)",
    )
    return BgNbdFit(
        **solution.params,
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


# --------------------------------------------------------------------------------------------
# Scoring (vectorised; hand-derivable from the parameters)


def _arrays(*values: Any) -> list[np.ndarray]:
    return [np.asarray(value, dtype=float) for value in values]


def probability_alive(
    frequency: Any, recency: Any, age: Any, fit: BgNbdFit | Mapping[str, float]
) -> np.ndarray:
    """P(alive at T | x, t_x, T) (Fader, Hardie and Lee, note 021).

    1 for x = 0 (a BG/NBD customer can only drop out right after a repeat purchase), else
    1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x))^(r + x)), computed as a logistic
    of the log-odds so that large x does not overflow.
    """
    r, alpha, a, b = _params(fit)
    x, t_x, age = _arrays(frequency, recency, age)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_odds_dead = (
            np.log(a)
            - np.log(b + np.maximum(x, 1.0) - 1.0)
            + (r + x) * (np.log(alpha + age) - np.log(alpha + t_x))
        )
    return np.where(x > 0, expit(-log_odds_dead), 1.0)


def expected_purchases(
    t: float, frequency: Any, recency: Any, age: Any, fit: BgNbdFit | Mapping[str, float]
) -> np.ndarray:
    """E[purchases in (T, T + t] | x, t_x, T] (FHL 2005 eq. 10), t in model time units.

    P(alive) * (a + b + x - 1) / (a - 1) * [1 - 2F1(r + x, b + x; a + b + x - 1; z) *
    ((alpha + T) / (alpha + T + t))^(r + x)] with z = t / (alpha + T + t). The hypergeometric term
    is evaluated through Euler's transformation, which is exact and, with (1 - z) equal to the
    ratio above, collapses to 2F1(a + b - 1 - r, a - 1; a + b + x - 1; z) * (1 - z)^(a - 1): its
    upper parameters no longer grow with x, so it cannot overflow for heavy buyers.
    """
    r, alpha, a, b = _params(fit)
    x, _, age = _arrays(frequency, recency, age)
    c = a + b + x - 1.0
    one_minus_z = (alpha + age) / (alpha + age + t)
    hyp_term = hyp2f1(a + b - 1.0 - r, a - 1.0, c, 1.0 - one_minus_z) * one_minus_z ** (a - 1.0)
    return probability_alive(frequency, recency, age, fit) * c / (a - 1.0) * (1.0 - hyp_term)


def churn_probability(
    t: float, frequency: Any, recency: Any, age: Any, fit: BgNbdFit | Mapping[str, float]
) -> np.ndarray:
    """P(no purchase in (T, T + t]), t in model time units.

    Given alive, the posterior purchase rate is Gamma(r + x, alpha + T), so
    P(no purchase in t | alive) = ((alpha + T) / (alpha + T + t))^(r + x); a dead customer never
    buys. Hence 1 - P(alive) * (1 - ((alpha + T) / (alpha + T + t))^(r + x)).
    """
    r, alpha, _, _ = _params(fit)
    x, _, age = _arrays(frequency, recency, age)
    log_no_purchase_if_alive = (r + x) * (np.log(alpha + age) - np.log(alpha + age + t))
    buys_if_alive = -np.expm1(log_no_purchase_if_alive)
    return 1.0 - probability_alive(frequency, recency, age, fit) * buys_if_alive


def score_cells(
    cells: pd.DataFrame,
    fit: BgNbdFit | Mapping[str, float],
    prediction_days: float,
    churn_horizon_days: float,
    time_unit_days: float = 1.0,
) -> pd.DataFrame:
    """Score every cell once, vectorised: a copy of ``cells`` with three columns added.

    - expected_purchases: expected repeat purchases in the next ``prediction_days``;
    - probability_alive: P(alive) now;
    - churn_probability: P(no purchase in the next ``churn_horizon_days``).

    The cells' times and the fit's alpha are in model units of ``time_unit_days`` days (1 for
    'day', 7 for 'week'); both windows are given in days and divided by ``time_unit_days``.
    """
    for name, value in {
        "prediction_days": prediction_days,
        "churn_horizon_days": churn_horizon_days,
    }.items():
        if not value >= 0:
            raise ValueError(f"{name} must be >= 0 days, got {value}")
    if not time_unit_days > 0:
        raise ValueError(f"time_unit_days must be > 0, got {time_unit_days}")
    x = _float_column(cells, "frequency")
    t_x = _float_column(cells, "recency")
    age = _float_column(cells, "T")
    scored = cells.copy()
    scored["expected_purchases"] = expected_purchases(
        prediction_days / time_unit_days, x, t_x, age, fit
    )
    scored["probability_alive"] = probability_alive(x, t_x, age, fit)
    scored["churn_probability"] = churn_probability(
        churn_horizon_days / time_unit_days, x, t_x, age, fit
    )
    return scored


# --------------------------------------------------------------------------------------------
# Simulation (tests, benchmarks)


def simulate_bgnbd(
    n: int, r: float, alpha: float, a: float, b: float, age: Any, seed: int
) -> pd.DataFrame:
    """Simulate BG/NBD customers exactly, in continuous time, vectorised.

    Each customer draws lambda ~ Gamma(r, rate alpha) and p ~ Beta(a, b); repeat purchases
    follow a Poisson(lambda) process over (0, T], and the customer drops out right after the
    J-th repeat purchase, J ~ Geometric(p). So x = min(N, J) with N ~ Poisson(lambda T), and
    t_x, the x-th of N uniform points on (0, T], is T * Beta(x, N - x + 1). Returns frequency,
    recency and T (no rounding: rounding to days biases alpha upwards).
    """
    rng = np.random.default_rng(seed)
    age = np.broadcast_to(np.asarray(age, dtype=float), (n,)).copy()
    rate = rng.gamma(r, 1.0 / alpha, n)
    # Beta draws can underflow to exactly 0 for tiny a: such a customer never drops out.
    dropout = np.maximum(rng.beta(a, b, n), np.finfo(float).tiny)
    n_events = rng.poisson(rate * age)
    purchases_before_dropout = rng.geometric(dropout)
    frequency = np.minimum(n_events, purchases_before_dropout)
    recency = np.zeros(n)
    repeat = frequency > 0
    recency[repeat] = age[repeat] * rng.beta(
        frequency[repeat], n_events[repeat] - frequency[repeat] + 1
    )
    return pd.DataFrame({"frequency": frequency, "recency": recency, "T": age})

"""Fit a model with a list of penalizers, keeping the first usable solution.

Every CLV model (BG/NBD, Pareto/NBD, MBG/NBD, Gamma-Gamma) is fitted the same way: try the
penalizer coefficients of the var ``clv_penalizers`` in order, and keep the first fit that
converges *and* passes `check_solution` (finite parameters inside `PARAM_BOUNDS`, finite positive
standard errors, a finite log-likelihood, plus any model-specific condition). Each try is
recorded as a `FitAttempt`; when none is usable, `ClvFitError` carries them all, so the
diagnostics mart can say what was tried and why it failed. `fit_with_penalizers` is that loop,
written once; a model only supplies a ``solve(penalizer) -> Solution`` function.
"""

from __future__ import annotations

import contextlib
import io
import math
import re
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "DEFAULT_PENALIZERS",
    "PARAM_BOUNDS",
    "ClvFitError",
    "FitAttempt",
    "Solution",
    "check_solution",
    "fit_with_penalizers",
    "run_lifetimes_fit",
]

DEFAULT_PENALIZERS: tuple[float, ...] = (0.0, 0.001, 0.01, 0.1)
"""Penalizer coefficients tried in order; the first fit that converges is kept."""

# A parameter (alpha after lifetimes' rescaling of time to max(T) = 1) outside this range is a
# boundary solution: the data do not identify the model (e.g. nobody ever repeats), whatever
# the optimiser says.
PARAM_BOUNDS: tuple[float, float] = (1e-6, 1e6)


class ClvFitError(RuntimeError):
    """A CLV model could not be fitted with any penalizer; ``attempts`` says what was tried."""

    def __init__(self, message: str, attempts: Sequence[FitAttempt] = ()) -> None:
        super().__init__(message)
        self.attempts: tuple[FitAttempt, ...] = tuple(attempts)


@dataclass(frozen=True)
class FitAttempt:
    """One call of a lifetimes fitter: its penalizer, outcome, time and, on failure, why."""

    penalizer: float
    converged: bool
    seconds: float
    error: str | None = None


@dataclass(frozen=True)
class Solution:
    """What one attempt found, before the sanity checks.

    Attributes:
        params: the parameters, in the units reported (model time units, money units).
        standard_errors: per parameter.
        log_likelihood: total unpenalised log-likelihood over the customers fitted.
        bounded: the values checked against `PARAM_BOUNDS`, named as the error should name them
            (the parameters on the scale the optimiser saw, e.g. alpha with time rescaled).
        problem: a model-specific reason the solution is unusable, or None.
    """

    params: dict[str, float]
    standard_errors: dict[str, float]
    log_likelihood: float
    bounded: dict[str, float]
    problem: str | None = None


_SCIPY_MESSAGE = re.compile(r"message:\s*(.+)")


def _describe_failure(exc: BaseException, printed: str) -> str:
    """The exception, plus scipy's message that lifetimes prints before ConvergenceError."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    found = _SCIPY_MESSAGE.search(printed)
    detail = f" (scipy: {found.group(1).strip()})" if found else ""
    return f"{type(exc).__name__}: {text}{detail}"


def run_lifetimes_fit(fit_call: Any) -> tuple[Any, str | None]:
    """Run a lifetimes ``.fit`` closure quietly; return (result, None) or (None, error text).

    lifetimes prints scipy's result to stdout before raising ConvergenceError, and numpy warns
    when the Hessian is singular; both are captured so the reason ends up in the attempt record.
    """
    printed = io.StringIO()
    try:
        with (
            warnings.catch_warnings(),
            np.errstate(all="ignore"),
            contextlib.redirect_stdout(printed),
        ):
            warnings.simplefilter("ignore")
            return fit_call(), None
    except Exception as exc:  # noqa: BLE001 - every failure is recorded, then retried or raised
        return None, _describe_failure(exc, printed.getvalue())


def check_solution(
    params: Mapping[str, float],
    standard_errors: Mapping[str, float],
    log_likelihood: float,
    scaled: Mapping[str, float] | None = None,
) -> str | None:
    """Why an optimiser 'success' is not a usable fit, or None when it is.

    ``scaled`` gives the parameters on the scale lifetimes optimised (for the bounds check).
    """
    values = dict(params) | dict(scaled or {})
    low, high = PARAM_BOUNDS
    for name, value in values.items():
        if not math.isfinite(value) or not low <= value <= high:
            return f"parameter {name} = {value:.6g} is outside [{low:g}, {high:g}] (boundary)"
    for name, value in standard_errors.items():
        if not math.isfinite(value) or value <= 0:
            return f"standard error of {name} is {value} (singular Hessian: not identified)"
    if not math.isfinite(log_likelihood):
        return f"log-likelihood is {log_likelihood}"
    return None


def fit_with_penalizers(
    solve: Callable[[float], Solution],
    penalizers: Sequence[float],
    failure: str,
) -> tuple[Solution, float, tuple[FitAttempt, ...]]:
    """Call ``solve(penalizer)`` for each penalizer in turn until a solution is usable.

    An attempt fails when ``solve`` raises (lifetimes' ConvergenceError, a numerical error), or
    its `Solution` fails `check_solution` or names a ``problem``. Returns (solution, penalizer,
    attempts) for the first usable one.

    Raises:
        ClvFitError: no penalizer gave a usable solution; the message is ``failure`` followed by
            each attempt's error, and ``.attempts`` lists them.
    """
    attempts: list[FitAttempt] = []
    for penalizer in penalizers:
        started = time.perf_counter()
        solution, error = run_lifetimes_fit(lambda penalizer=penalizer: solve(penalizer))
        if solution is not None:
            error = (
                check_solution(solution.bounded, solution.standard_errors, solution.log_likelihood)
                or solution.problem
            )
        seconds = time.perf_counter() - started
        attempts.append(FitAttempt(float(penalizer), error is None, seconds, error))
        if error is None:
            return solution, float(penalizer), tuple(attempts)
    tried = "; ".join(f"penalizer {a.penalizer:g}: {a.error}" for a in attempts) or "no penalizer"
    raise ClvFitError(f"{failure}; tried {tried}", attempts)

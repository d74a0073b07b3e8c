"""Checks a run makes before any model builds: the configuration a build cannot recover from.

``clv-segments run`` calls ``check_configuration`` first, so that a wrong as-of date, a reporting
currency without fx rates or a tier seed with a gap stops the run in a second, naming the var or
the seed file, instead of after a build that rejects every order. The dbt project checks the same
things for plain ``dbt build`` users (macros/config/validate_config.sql, the tests on the seeds).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from clv_segments.project_settings import TierBand, read_tier_seed

__all__ = ["BREAKER_CHECKS", "ConfigurationError", "check_configuration", "resolve_as_of_date"]

BREAKER_CHECKS = ("rejected_share", "drop", "min_valid_orders", "readiness_lost", "segment_churn")
"""The circuit breakers of models/marts/data_quality/circuit_breakers.sql."""


class ConfigurationError(ValueError):
    """The run cannot start: each line of the message names the var or file at fault."""


def resolve_as_of_date(value: Any, today: date) -> date:
    """The var as_of_date as a date (null, '' or 'today' is ``today``), or ConfigurationError."""
    if value is None or str(value).strip() in ("", "None", "null", "today"):
        return today
    if isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigurationError(
            f"var as_of_date = '{text}' is not a date: use YYYY-MM-DD (a real calendar date), "
            "or leave it unset for today"
        ) from None


def _fx_problem(project_dir: Path, currency: Any) -> str | None:
    path = project_dir / "seeds" / "fx_rates.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    reporting = sorted({row["reporting_currency"] for row in rows})
    rated = sorted(row["currency_code"] for row in rows if row["reporting_currency"] == currency)
    if currency not in rated:
        return (
            f"var reporting_currency = {currency} has no fx rates in {path} (reporting currencies "
            f"there: {', '.join(reporting)}): every order would be rejected as unknown_currency. "
            f"Add rows '<currency_code>,{currency},<rate>' (including {currency},{currency},1.0) "
            "or choose one of those currencies"
        )
    return None


def _bound(value: Any) -> str:
    return "unbounded" if value is None else str(value)


def tier_problems(path: Path, bands: tuple[TierBand, ...]) -> list[str]:
    """Gaps and overlaps between the bands of a tier seed, each naming the file and the tiers.

    Sorted by lower bound, the bands must run from unbounded to unbounded, each upper bound equal
    to the next lower bound, with exactly one of the two inclusive there.
    """
    ordered = sorted(bands, key=lambda band: (band.lower_bound is not None, band.lower_bound or 0))
    problems = []
    if ordered[0].lower_bound is not None:
        problems.append(
            f"{path}: no tier below {ordered[0].lower_bound} (the lowest tier, "
            f"{ordered[0].tier}, needs an empty lower_bound)"
        )
    if ordered[-1].upper_bound is not None:
        problems.append(
            f"{path}: no tier above {ordered[-1].upper_bound} (the highest tier, "
            f"{ordered[-1].tier}, needs an empty upper_bound)"
        )
    for low, high in zip(ordered, ordered[1:], strict=False):
        where = (
            f"{path}: tiers {low.tier} (up to {_bound(low.upper_bound)}) and {high.tier} "
            f"(from {_bound(high.lower_bound)})"
        )
        if low.upper_bound is None or high.lower_bound is None:
            problems.append(f"{where} overlap")
        elif low.upper_bound < high.lower_bound:
            problems.append(f"{where} leave a gap")
        elif low.upper_bound > high.lower_bound:
            problems.append(f"{where} overlap")
        elif low.upper_bound_inclusive and high.lower_bound_inclusive:
            problems.append(f"{where} overlap: {low.upper_bound} is in both")
        elif not low.upper_bound_inclusive and not high.lower_bound_inclusive:
            problems.append(f"{where} leave a gap: {low.upper_bound} is in neither")
    return problems


def check_configuration(project_dir: Path, dbt_vars: Mapping[str, Any], today: date) -> date:
    """Check what a build cannot recover from; return the as-of date. Raises
    ConfigurationError listing every problem at once."""
    problems = []
    as_of = today
    try:
        as_of = resolve_as_of_date(dbt_vars.get("as_of_date"), today)
    except ConfigurationError as exc:
        problems.append(str(exc))
    fx = _fx_problem(project_dir, dbt_vars.get("reporting_currency"))
    if fx:
        problems.append(fx)
    for seed in ("clv_tiers", "aov_tiers"):
        path = project_dir / "seeds" / f"{seed}.csv"
        try:
            problems += tier_problems(path, read_tier_seed(path))
        except ValueError as exc:
            problems.append(str(exc))
    accepted = dbt_vars.get("accept_breakers") or []
    for name in accepted:
        if str(name).split(":")[0] not in BREAKER_CHECKS:
            problems.append(
                f"--accept {name}: not a circuit breaker (checks: {', '.join(BREAKER_CHECKS)}, "
                "optionally followed by ':subject', e.g. drop:clean_rows:events)"
            )
    if problems:
        raise ConfigurationError("\n".join(problems))
    return as_of

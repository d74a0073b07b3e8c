"""The project's settings as Python reads them, without a warehouse or Great Expectations: the dbt
vars (``dbt_project.yml`` with the ``--vars`` overrides, as dbt merges them) and the tier seeds.

``clv-segments run`` reads them before it builds anything (the pre-flight checks), so this module
imports nothing heavy: the run's own process stays small while dbt builds beside it (the run's
memory bound counts both, docs/benchmarks.md). The Great Expectations suite
(``clv_segments.quality.mart_expectations``) derives its thresholds from the same functions.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

__all__ = ["TierBand", "load_dbt_vars", "parse_vars_option", "read_tier_seed"]


@dataclass(frozen=True)
class TierBand:
    """One row of a tier seed: the tier a value gets when it lies within the bounds."""

    tier: str
    lower_bound: Decimal | None
    lower_bound_inclusive: bool
    upper_bound: Decimal | None
    upper_bound_inclusive: bool

    def condition_sql(self, column: str) -> str:
        """The SQL predicate ``column`` within this band (``1 = 1`` when unbounded)."""
        parts = []
        if self.lower_bound is not None:
            operator = ">=" if self.lower_bound_inclusive else ">"
            parts.append(f"{column} {operator} {self.lower_bound}")
        if self.upper_bound is not None:
            operator = "<=" if self.upper_bound_inclusive else "<"
            parts.append(f"{column} {operator} {self.upper_bound}")
        return " and ".join(parts) or "1 = 1"


def parse_vars_option(text: str | None) -> dict[str, Any]:
    """The mapping of a ``--vars`` option, YAML or JSON as dbt takes it (``{a: 1, b: x}``)."""
    if not text:
        return {}
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"--vars is not a YAML/JSON mapping: {text!r} ({exc})") from None
    if parsed is None:
        return {}
    if not isinstance(parsed, dict):
        raise ValueError(
            f"--vars must be a mapping such as '{{churn_risk_low_max: 0.3}}': {text!r}"
        )
    return parsed


def load_dbt_vars(project_dir: Path, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The vars of ``dbt_project.yml`` with ``overrides`` applied on top, as ``dbt --vars`` does."""
    path = Path(project_dir) / "dbt_project.yml"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: --project-dir must be the dbt project folder")
    project = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {**(project.get("vars") or {}), **(overrides or {})}


def _seed_bound(path: Path, row_number: int, row: dict[str, str], name: str) -> Decimal | None:
    text = (row.get(name) or "").strip()
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{path}, row {row_number}: {name} is not a number: {text!r}") from None


def _seed_flag(path: Path, row_number: int, row: dict[str, str], name: str) -> bool:
    text = (row.get(name) or "").strip().lower()
    if text not in ("true", "false", ""):
        raise ValueError(f"{path}, row {row_number}: {name} must be true or false, got {text!r}")
    return text == "true"


def read_tier_seed(path: Path) -> tuple[TierBand, ...]:
    """The bands of a tier seed (tier, lower_bound, lower_bound_inclusive, upper_bound,
    upper_bound_inclusive; an empty bound is unbounded), in the file's order."""
    path = Path(path)
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        required = {
            "tier",
            "lower_bound",
            "lower_bound_inclusive",
            "upper_bound",
            "upper_bound_inclusive",
        }
        missing = required - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        bands = []
        for row_number, row in enumerate(reader, start=2):
            tier = (row.get("tier") or "").strip()
            if not tier:
                raise ValueError(f"{path}, row {row_number}: empty tier")
            bands.append(
                TierBand(
                    tier=tier,
                    lower_bound=_seed_bound(path, row_number, row, "lower_bound"),
                    lower_bound_inclusive=_seed_flag(
                        path, row_number, row, "lower_bound_inclusive"
                    ),
                    upper_bound=_seed_bound(path, row_number, row, "upper_bound"),
                    upper_bound_inclusive=_seed_flag(
                        path, row_number, row, "upper_bound_inclusive"
                    ),
                )
            )
    if not bands:
        raise ValueError(f"{path}: no tier rows")
    return tuple(bands)

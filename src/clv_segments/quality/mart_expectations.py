"""The Great Expectations suite over the marts, derived from the project's dbt vars and seeds.

Every threshold the suite checks is read from the project, never written here: the vars of
``dbt_project.yml`` (with the same ``--vars`` overrides dbt takes) and the tier seeds
(``seeds/clv_tiers.csv``, ``seeds/aov_tiers.csv``). Changing a threshold changes the expectation,
so marts built with other settings than the ones validated fail.

Each mart gets two kinds of checks:

- column checks, GX built-in expectations (ranges, value sets, uniqueness, not-null);
- row rules, ``UnexpectedRowsExpectation``: SQL run in the warehouse that returns the rows
  breaking a rule across columns or tables (total = historic + predicted, churn bands, tiers).
  The SQL is plain ANSI (``case``, ``abs``, ``is distinct from``) so it runs on any warehouse.

This module only builds the suite (no warehouse access); ``clv_segments.quality.validation``
runs it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import great_expectations.expectations as gxe

from clv_segments.project_settings import TierBand, load_dbt_vars, read_tier_seed

__all__ = [
    "MARTS_SCHEMA",
    "MONEY_TOLERANCE",
    "MartChecks",
    "SuiteSettings",
    "build_mart_checks",
    "check_name",
    "load_settings",
    "tier_case_sql",
]

MARTS_SCHEMA = "marts"
"""The schema the marts are built in (dbt_project.yml ``+schema: marts``, used verbatim)."""

MONEY_TOLERANCE = 0.01
"""Money columns are decimal(18,2): total_clv may differ from historic + predicted by a cent of
rounding, the tolerance of the dbt test on the same rule."""

PREDICTION_STATUSES = (
    "scored",
    "no_valid_order",
    "outside_history_window",
    "model_not_ready",
    "model_failed",
)
CHURN_RISKS = ("low", "medium", "high")
PURCHASE_MODELS = ("bgnbd", "pareto_nbd", "mbgnbd")
MODEL_NAMES = (*PURCHASE_MODELS, "gamma_gamma")
FIT_SCOPES = ("current", "backtest")
BACKTEST_STATUSES = ("measured", "history_too_short", "fit_failed")
MODEL_STATUSES = ("fitted", "not_ready", "failed")
CLV_TIER_BASES = ("total", "historic", "predicted")


# --- settings: vars and seeds -----------------------------------------------------------------


@dataclass(frozen=True)
class SuiteSettings:
    """The vars and seed thresholds the suite checks the marts against."""

    as_of_date: date | None
    clv_history_days: int
    clv_prediction_days: int
    churn_horizon_days: int
    clv_time_unit: str
    churn_risk_low_max: float
    churn_risk_high_min: float
    clv_tier_basis: str
    clv_tiers: tuple[TierBand, ...] | None
    """None when seeds/clv_tiers.csv does not exist: the tier checks are then skipped."""
    aov_tiers: tuple[TierBand, ...] | None


def _var(dbt_vars: Mapping[str, Any], name: str, kind: type) -> Any:
    if name not in dbt_vars:
        raise ValueError(f"var {name} is not defined in dbt_project.yml nor in --vars")
    value = dbt_vars[name]
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ValueError(f"var {name} must be a {kind.__name__}, got {value!r}") from None


def _as_of_date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"var as_of_date must be YYYY-MM-DD or null, got {value!r}") from None


def load_settings(project_dir: Path, dbt_vars: Mapping[str, Any] | None = None) -> SuiteSettings:
    """The suite's settings: vars of ``project_dir/dbt_project.yml`` overridden by ``dbt_vars``,
    tier bands from ``project_dir/seeds`` (None for a seed that does not exist)."""
    project_dir = Path(project_dir)
    merged = load_dbt_vars(project_dir, dbt_vars)
    basis = _var(merged, "clv_tier_basis", str)
    if basis not in CLV_TIER_BASES:
        raise ValueError(
            f"var clv_tier_basis must be one of {', '.join(CLV_TIER_BASES)}: {basis!r}"
        )
    seeds = project_dir / "seeds"
    clv_seed, aov_seed = seeds / "clv_tiers.csv", seeds / "aov_tiers.csv"
    return SuiteSettings(
        as_of_date=_as_of_date(merged.get("as_of_date")),
        clv_history_days=_var(merged, "clv_history_days", int),
        clv_prediction_days=_var(merged, "clv_prediction_days", int),
        churn_horizon_days=_var(merged, "churn_horizon_days", int),
        clv_time_unit=_var(merged, "clv_time_unit", str),
        churn_risk_low_max=_var(merged, "churn_risk_low_max", float),
        churn_risk_high_min=_var(merged, "churn_risk_high_min", float),
        clv_tier_basis=basis,
        clv_tiers=read_tier_seed(clv_seed) if clv_seed.is_file() else None,
        aov_tiers=read_tier_seed(aov_seed) if aov_seed.is_file() else None,
    )


# --- the suite --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MartChecks:
    """The checks of one mart. ``key_columns`` identify a failing row in the report."""

    mart: str
    key_columns: tuple[str, ...]
    column_checks: tuple[gxe.Expectation, ...]
    row_rules: tuple[gxe.UnexpectedRowsExpectation, ...]


def check_name(
    expectation_type: str, kwargs: Mapping[str, Any], meta: Mapping[str, Any] | None
) -> str:
    """A readable, stable name for an expectation (from its GX configuration): a row rule's own
    name, else ``expectation_type(column)``."""
    if meta and "check" in meta:
        return str(meta["check"])
    columns = kwargs.get("column") or ", ".join(kwargs.get("column_list") or ())
    return f"{expectation_type}({columns})" if columns else expectation_type


def _rule(name: str, description: str, sql: str) -> gxe.UnexpectedRowsExpectation:
    """A row rule: ``sql`` selects the rows of ``{batch}`` (the mart) that break it."""
    return gxe.UnexpectedRowsExpectation(
        unexpected_rows_query=" ".join(sql.split()),
        description=description,
        meta={"check": name},
    )


def tier_case_sql(column: str, bands: tuple[TierBand, ...]) -> str:
    """``case when <band 1> then 'tier 1' ... end``: the tier the seed gives ``column``."""
    whens = " ".join(f"when {band.condition_sql(column)} then '{band.tier}'" for band in bands)
    return f"case when {column} is null then null {whens} end"


def _as_of_date_check(settings: SuiteSettings) -> gxe.Expectation:
    if settings.as_of_date is None:
        # as_of_date null = the date the build ran: only "one date for every row" can be checked.
        return gxe.ExpectColumnUniqueValueCountToBeBetween(
            column="as_of_date", min_value=1, max_value=1
        )
    return gxe.ExpectColumnValuesToBeInSet(
        column="as_of_date", value_set=[settings.as_of_date.isoformat()]
    )


def _customer_predictions(settings: SuiteSettings) -> MartChecks:
    low, high = settings.churn_risk_low_max, settings.churn_risk_high_min
    predictive = ("predicted_clv", "predicted_number_of_orders", "churn_probability")
    predictive += ("probability_alive", "expected_average_order_value")
    predictive += ("predicted_number_of_orders_low", "predicted_number_of_orders_high")
    any_null = " or ".join(f"{column} is null" for column in predictive)
    any_not_null = " or ".join(f"{column} is not null" for column in predictive)
    return MartChecks(
        mart="customer_predictions",
        key_columns=("customer_id",),
        column_checks=(
            gxe.ExpectTableRowCountToBeBetween(min_value=1),
            gxe.ExpectColumnValuesToNotBeNull(column="customer_id"),
            gxe.ExpectColumnValuesToBeUnique(column="customer_id"),
            gxe.ExpectColumnValuesToNotBeNull(column="historic_clv"),
            gxe.ExpectColumnValuesToBeBetween(column="historic_clv", min_value=0),
            gxe.ExpectColumnValuesToBeBetween(column="predicted_clv", min_value=0),
            gxe.ExpectColumnValuesToBeBetween(column="predicted_number_of_orders", min_value=0),
            gxe.ExpectColumnValuesToBeBetween(column="expected_average_order_value", min_value=0),
            gxe.ExpectColumnValuesToBeBetween(column="churn_probability", min_value=0, max_value=1),
            gxe.ExpectColumnValuesToBeBetween(column="probability_alive", min_value=0, max_value=1),
            gxe.ExpectColumnValuesToBeInSet(column="churn_risk", value_set=list(CHURN_RISKS)),
            gxe.ExpectColumnValuesToBeInSet(
                column="purchase_model", value_set=list(PURCHASE_MODELS)
            ),
            gxe.ExpectColumnValuesToNotBeNull(column="prediction_status"),
            gxe.ExpectColumnValuesToBeInSet(
                column="prediction_status", value_set=list(PREDICTION_STATUSES)
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column="prediction_window_days", value_set=[settings.clv_prediction_days]
            ),
            _as_of_date_check(settings),
        ),
        row_rules=(
            _rule(
                "total_clv_equals_historic_plus_predicted",
                f"total_clv = historic_clv + predicted_clv (within {MONEY_TOLERANCE}); "
                "null only when predicted_clv is null.",
                f"""
                select customer_id, historic_clv, predicted_clv, total_clv
                from {{batch}}
                where (predicted_clv is not null and total_clv is null)
                    or abs(total_clv - (historic_clv + coalesce(predicted_clv, 0)))
                        > {MONEY_TOLERANCE}
                """,
            ),
            _rule(
                "churn_risk_follows_churn_probability_bands",
                f"churn_risk: low below {low} (var churn_risk_low_max), high above {high} "
                "(var churn_risk_high_min), medium in between; null without a churn_probability.",
                f"""
                select customer_id, churn_probability, churn_risk
                from {{batch}}
                where churn_risk is distinct from (
                    case
                        when churn_probability is null then null
                        when churn_probability < {low} then 'low'
                        when churn_probability > {high} then 'high'
                        else 'medium'
                    end
                )
                """,
            ),
            _rule(
                "prediction_interval_is_ordered",
                "predicted_number_of_orders_low <= predicted_number_of_orders_high, "
                "both or neither.",
                """
                select customer_id, predicted_number_of_orders_low, predicted_number_of_orders_high
                from {batch}
                where (predicted_number_of_orders_low is null)
                        <> (predicted_number_of_orders_high is null)
                    or predicted_number_of_orders_low > predicted_number_of_orders_high
                """,
            ),
            _rule(
                "predicted_next_order_date_is_not_past",
                "The model's next-order date is never before the as-of date.",
                """
                select customer_id, predicted_next_order_date, as_of_date
                from {batch}
                where predicted_next_order_date < as_of_date
                """,
            ),
            _rule(
                "scored_customers_have_every_prediction",
                "A customer whose prediction_status is 'scored' has every predictive field.",
                f"""
                select customer_id, prediction_status, {", ".join(predictive)}
                from {{batch}}
                where prediction_status = 'scored' and ({any_null})
                """,
            ),
            _rule(
                "unscored_customers_have_no_prediction",
                "A customer who is not scored (no valid order, outside the history window, "
                "model not ready or failed) has no predictive field.",
                f"""
                select customer_id, prediction_status, {", ".join(predictive)}
                from {{batch}}
                where prediction_status <> 'scored' and ({any_not_null})
                """,
            ),
        ),
    )


def _clv_model_diagnostics(settings: SuiteSettings) -> MartChecks:
    return MartChecks(
        mart="clv_model_diagnostics",
        key_columns=("fit_scope", "model_name"),
        column_checks=(
            gxe.ExpectColumnValuesToBeInSet(column="model_name", value_set=list(MODEL_NAMES)),
            gxe.ExpectColumnValuesToBeInSet(column="fit_scope", value_set=list(FIT_SCOPES)),
            gxe.ExpectCompoundColumnsToBeUnique(column_list=["fit_scope", "model_name"]),
            gxe.ExpectColumnValuesToNotBeNull(column="status"),
            gxe.ExpectColumnValuesToBeInSet(column="status", value_set=list(MODEL_STATUSES)),
            gxe.ExpectColumnValuesToBeInSet(
                column="history_window_days", value_set=[settings.clv_history_days]
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column="prediction_window_days", value_set=[settings.clv_prediction_days]
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column="churn_horizon_days", value_set=[settings.churn_horizon_days]
            ),
            gxe.ExpectColumnValuesToBeInSet(column="time_unit", value_set=[settings.clv_time_unit]),
            _as_of_date_check(settings),
        ),
        row_rules=(
            _rule(
                "not_ready_models_name_the_failed_checks",
                "A model that is not_ready names the readiness checks that failed.",
                """
                select model_name, status, is_ready, failed_readiness_checks
                from {batch}
                where status = 'not_ready'
                    and (failed_readiness_checks is null or failed_readiness_checks = '')
                """,
            ),
            _rule(
                "current_fit_has_one_purchase_model_the_chosen_one",
                "The current fit has exactly one purchase model and Gamma-Gamma, and its purchase "
                "model is the chosen one.",
                """
                select count(*) as purchase_models, min(model_name) as model_name
                from {batch}
                where fit_scope = 'current' and model_name <> 'gamma_gamma'
                having count(*) <> 1 or not bool_and(is_chosen)
                """,
            ),
        ),
    )


def _clv_model_parameters() -> MartChecks:
    return MartChecks(
        mart="clv_model_parameters",
        key_columns=("model_name", "parameter_name"),
        column_checks=(
            gxe.ExpectColumnValuesToBeInSet(column="model_name", value_set=list(MODEL_NAMES)),
            gxe.ExpectCompoundColumnsToBeUnique(column_list=["model_name", "parameter_name"]),
            gxe.ExpectColumnValuesToBeBetween(column="estimate", min_value=0, strict_min=True),
        ),
        row_rules=(),
    )


def _clv_backtest_metrics(settings: SuiteSettings) -> MartChecks:
    shares = (
        "top_decile_revenue_share",
        "interval_coverage",
        "next_order_within_14_days",
        "next_order_date_before_clock_share",
        "churn_brier",
    )
    return MartChecks(
        mart="clv_backtest_metrics",
        key_columns=("model", "metric"),
        column_checks=(
            gxe.ExpectCompoundColumnsToBeUnique(column_list=["model", "metric"]),
            gxe.ExpectColumnValuesToBeInSet(
                column="backtest_status", value_set=list(BACKTEST_STATUSES)
            ),
            gxe.ExpectColumnValuesToNotBeNull(column="is_chosen"),
            _as_of_date_check(settings),
        ),
        row_rules=(
            _rule(
                "shares_are_between_0_and_1",
                "Shares, coverage and the Brier score lie between 0 and 1.",
                f"""
                select model, metric, value
                from {{batch}}
                where metric in ({", ".join(f"'{name}'" for name in shares)})
                    and (value < 0 or value > 1)
                """,
            ),
            _rule(
                "at_most_one_chosen_model",
                "The rows marked is_chosen belong to one purchase model.",
                f"""
                select count(distinct model) as chosen_models
                from {{batch}}
                where is_chosen
                having count(distinct model) > 1
                    or min(model) not in ({", ".join(f"'{name}'" for name in PURCHASE_MODELS)})
                """,
            ),
            _rule(
                "unmeasured_rows_say_why",
                "A candidate that was not measured has a null value and a status_detail.",
                """
                select model, metric, value, backtest_status, status_detail
                from {batch}
                where backtest_status <> 'measured'
                    and (value is not null or status_detail is null)
                """,
            ),
        ),
    )


def _customer_tiers(settings: SuiteSettings) -> MartChecks:
    column_checks: list[gxe.Expectation] = [
        gxe.ExpectColumnValuesToNotBeNull(column="customer_id"),
        gxe.ExpectColumnValuesToBeUnique(column="customer_id"),
        gxe.ExpectColumnValuesToBeInSet(
            column="clv_tier_basis", value_set=[settings.clv_tier_basis]
        ),
        _as_of_date_check(settings),
    ]
    basis_column = f"{settings.clv_tier_basis}_clv"
    row_rules = [
        _rule(
            "clv_basis_value_follows_clv_tier_basis",
            f"clv_basis_value is the customer's {basis_column} in customer_predictions "
            f"(var clv_tier_basis = {settings.clv_tier_basis}).",
            f"""
            select tiers.customer_id, tiers.clv_basis_value,
                predictions.{basis_column} as expected_clv_basis_value
            from {{batch}} as tiers
            inner join {MARTS_SCHEMA}.customer_predictions as predictions
                on tiers.customer_id = predictions.customer_id
            where tiers.clv_basis_value is distinct from predictions.{basis_column}
            """,
        ),
    ]
    for tier_column, value_column, bands, seed in (
        ("clv_tier", "clv_basis_value", settings.clv_tiers, "clv_tiers"),
        ("aov_tier", "average_order_value", settings.aov_tiers, "aov_tiers"),
    ):
        if bands is None:
            continue
        tiers = [band.tier for band in bands]
        column_checks.append(gxe.ExpectColumnValuesToBeInSet(column=tier_column, value_set=tiers))
        expected = tier_case_sql(value_column, bands)
        row_rules.append(
            _rule(
                f"{tier_column}_follows_{seed}_seed",
                f"{tier_column} is the band of seeds/{seed}.csv that {value_column} falls in "
                "(null without a value).",
                f"""
                select customer_id, {value_column}, {tier_column},
                    {expected} as expected_{tier_column}
                from {{batch}}
                where {tier_column} is distinct from ({expected})
                """,
            )
        )
    return MartChecks(
        mart="customer_tiers",
        key_columns=("customer_id",),
        column_checks=tuple(column_checks),
        row_rules=tuple(row_rules),
    )


def _segment_summary(settings: SuiteSettings) -> MartChecks:
    return MartChecks(
        mart="segment_summary",
        key_columns=("segment_name",),
        column_checks=(
            gxe.ExpectColumnValuesToNotBeNull(column="segment_name"),
            gxe.ExpectColumnValuesToBeUnique(column="segment_name"),
            gxe.ExpectColumnValuesToBeBetween(column="emailable_members", min_value=0),
            gxe.ExpectColumnValuesToBeBetween(column="revenue_share", min_value=0, max_value=1),
            _as_of_date_check(settings),
        ),
        row_rules=(
            _rule(
                "members_at_least_emailable_members",
                "A segment's emailable members are some of its members.",
                """
                select segment_name, members, emailable_members
                from {batch}
                where emailable_members > members
                """,
            ),
        ),
    )


def _customer_profile_properties(settings: SuiteSettings) -> MartChecks:
    """What the exports send: every scored customer, their values as published in
    customer_predictions rounded to the cent, and no emailable customer without an email."""
    return MartChecks(
        mart="customer_profile_properties",
        key_columns=("customer_id",),
        column_checks=(
            gxe.ExpectColumnValuesToNotBeNull(column="customer_id"),
            gxe.ExpectColumnValuesToBeUnique(column="customer_id"),
            gxe.ExpectColumnValuesToBeInSet(column="churn_risk", value_set=list(CHURN_RISKS)),
            _as_of_date_check(settings),
        ),
        row_rules=(
            _rule(
                "one_row_per_customer_prediction",
                "Every customer of customer_predictions has exactly one row, and no other "
                "customer has one.",
                f"""
                select coalesce(properties.customer_id, predictions.customer_id) as customer_id
                from {{batch}} as properties
                full outer join {MARTS_SCHEMA}.customer_predictions as predictions
                    on properties.customer_id = predictions.customer_id
                where properties.customer_id is null or predictions.customer_id is null
                """,
            ),
            _rule(
                "clv_is_the_published_value_to_the_cent",
                "historic, predicted and total CLV are customer_predictions' values rounded "
                "to the cent (within half a cent of them).",
                f"""
                select properties.customer_id, properties.predicted_clv,
                    predictions.predicted_clv as published_predicted_clv
                from {{batch}} as properties
                inner join {MARTS_SCHEMA}.customer_predictions as predictions
                    on properties.customer_id = predictions.customer_id
                where abs(properties.historic_clv - predictions.historic_clv) > 0.005
                    or abs(properties.predicted_clv - predictions.predicted_clv) > 0.005
                    or abs(properties.total_clv - predictions.total_clv) > 0.005
                    or (properties.predicted_clv is null) <> (predictions.predicted_clv is null)
                """,
            ),
            _rule(
                "emailable_customers_have_an_email",
                "A customer marked emailable has an email address.",
                "select customer_id from {batch} where is_emailable and email is null",
            ),
        ),
    )


def build_mart_checks(settings: SuiteSettings) -> list[MartChecks]:
    """The suite: the checks of every mart, in the order they are run and reported."""
    return [
        _customer_predictions(settings),
        _customer_profile_properties(settings),
        _clv_model_diagnostics(settings),
        _clv_model_parameters(),
        _clv_backtest_metrics(settings),
        _customer_tiers(settings),
        _segment_summary(settings),
    ]

"""One row per (model, metric) of the backtest's calibration fit: every purchase model (bgnbd,
pareto_nbd, mbgnbd) on the calibration cells, Gamma-Gamma on the calibration repeat customers.

Thin wrapper around clv_segments.clv.clv_model.fit_backtest; the inputs are the customers as of
as_of_date - clv_backtest_days, and the clv rows carry that holdout as the prediction window.
Settings as for clv_model_fit (literal `dbt.config.get("...")` keys, passed in the YAML config).
"""

from clv_segments.clv.clv_model import ClvSettings, fit_backtest
from clv_segments.clv.frames import to_pandas


def model(dbt, session):
    dbt.config(materialized="table")
    config = {
        "clv_prediction_days": dbt.config.get("clv_prediction_days"),
        "churn_horizon_days": dbt.config.get("churn_horizon_days"),
        "clv_time_unit": dbt.config.get("clv_time_unit"),
        "clv_fit_sample_size": dbt.config.get("clv_fit_sample_size"),
        "clv_fit_seed": dbt.config.get("clv_fit_seed"),
        "clv_penalizers": dbt.config.get("clv_penalizers"),
        "clv_monthly_discount_rate": dbt.config.get("clv_monthly_discount_rate"),
        "clv_prediction_interval_level": dbt.config.get("clv_prediction_interval_level"),
        "clv_next_order_probability": dbt.config.get("clv_next_order_probability"),
        "clv_model": dbt.config.get("clv_model"),
        "clv_backtest_days": dbt.config.get("clv_backtest_days"),
    }
    settings = ClvSettings.from_config(config.get)
    cells = to_pandas(dbt.ref("int_clv_backtest_cells"))
    repeat_customers = to_pandas(dbt.ref("int_clv_backtest_repeat_spend"))
    readiness = to_pandas(dbt.ref("int_clv_backtest_readiness_checked"))
    return fit_backtest(cells, repeat_customers, readiness, settings)

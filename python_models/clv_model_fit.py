"""One row per (model, metric): the chosen purchase model on the cells, Gamma-Gamma on repeaters.

Thin wrapper: reads its inputs through clv_segments.clv.frames.to_pandas (DuckDB relation, pandas,
Spark or Snowpark DataFrame) and calls clv_segments.clv.clv_model.fit_clv. The purchase model
(bgnbd, pareto_nbd or mbgnbd) is the one int_clv_model_chosen names, with its reason. The
settings are the dbt vars, passed through the model's config in python_models/_python_models.yml
(dbt only hands a Python model the config keys it reads with a literal `dbt.config.get("...")`).
"""

from clv_segments.clv.clv_model import ClvSettings, fit_clv
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
    cells = to_pandas(dbt.ref("int_customers_aggregated_to_cells"))
    repeat_customers = to_pandas(dbt.ref("int_customers_filtered_to_repeat_spend"))
    readiness = to_pandas(dbt.ref("int_clv_readiness_checked"))
    chosen = to_pandas(dbt.ref("int_clv_model_chosen"))
    return fit_clv(cells, repeat_customers, readiness, settings, chosen)

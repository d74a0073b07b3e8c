"""One row per purchase model fitted in clv_model_fit and cell: expected purchases and their
prediction interval over the window, P(alive), churn probability, days to the next purchase.

Thin wrapper around clv_segments.clv.clv_model.score_cells_from_fit: every cell is scored once with
the parameters of clv_model_fit (only the chosen model is fitted there); SQL joins the scores
back to the customers.
"""

from clv_segments.clv.clv_model import score_cells_from_fit
from clv_segments.clv.frames import to_pandas


def model(dbt, session):
    dbt.config(materialized="table")
    cells = to_pandas(dbt.ref("int_customers_aggregated_to_cells"))
    fit = to_pandas(dbt.ref("clv_model_fit"))
    return score_cells_from_fit(cells, fit)

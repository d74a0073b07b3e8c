"""One row per purchase model fitted in clv_backtest_fit and calibration cell: the scores over
the holdout window (clv_backtest_days), which SQL compares with what the customers then did.

Thin wrapper around clv_segments.clv.clv_model.score_cells_from_fit.
"""

from clv_segments.clv.clv_model import score_cells_from_fit
from clv_segments.clv.frames import to_pandas


def model(dbt, session):
    dbt.config(materialized="table")
    cells = to_pandas(dbt.ref("int_clv_backtest_cells"))
    fit = to_pandas(dbt.ref("clv_backtest_fit"))
    return score_cells_from_fit(cells, fit)

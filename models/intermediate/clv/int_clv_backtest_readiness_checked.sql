-- The readiness checks asked at the backtest's calibration date (as_of_date - clv_backtest_days):
-- when one fails, the history is too short to backtest, the candidates are not fitted and
-- clv_backtest_metrics says so. Same checks as int_clv_readiness_checked (clv_readiness_checks).
{{ clv_readiness_checks(clock=calibration_date(), customer_days='int_clv_backtest_customer_days') }}

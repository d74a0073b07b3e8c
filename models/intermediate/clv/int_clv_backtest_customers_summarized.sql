-- The backtest's calibration data: one row per customer with a valid order within the
-- clv_history_days before the calibration date (as_of_date - clv_backtest_days), with the BG/NBD
-- sufficient statistics as they stood then. Same SQL as int_customers_summarized_to_rft (the macro
-- clv_summarize_to_rft), another clock, on the orders as they stood then (int_clv_backtest_customer_days):
-- no order and no refund after the calibration date is read.
{{ clv_summarize_to_rft(clock=calibration_date(), customer_days='int_clv_backtest_customer_days') }}

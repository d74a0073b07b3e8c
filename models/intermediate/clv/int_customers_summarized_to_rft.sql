-- One row per customer with a valid order within the last clv_history_days: the BG/NBD sufficient
-- statistics (frequency, recency, T) in days and in model time units, and the Gamma-Gamma input, as
-- of the as-of date. The SQL is the macro clv_summarize_to_rft (macros/clv), which the backtest runs
-- at its calibration clock (int_clv_backtest_customers_summarized): one definition for both.
{{ clv_summarize_to_rft(clock=as_of_date()) }}

-- One row per BG/NBD cell of the calibration data: the candidates of the backtest are fitted and
-- scored on these, as the current model is on int_customers_aggregated_to_cells (same macro).
{{ clv_aggregate_to_cells('int_clv_backtest_customers_summarized') }}

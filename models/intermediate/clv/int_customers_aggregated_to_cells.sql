-- One row per distinct (frequency, recency, T): a BG/NBD cell with the number of customers in it.
-- BG/NBD sees a customer only through these three numbers, so the Python model fits on the cells
-- with weights and scores each cell once; SQL joins the scores back to the customers. The SQL is
-- the macro clv_aggregate_to_cells, which the backtest runs on its calibration data.
{{ clv_aggregate_to_cells('int_customers_summarized_to_rft') }}

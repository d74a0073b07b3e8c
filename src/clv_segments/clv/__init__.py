"""The CLV maths: purchase models (BG/NBD, Pareto/NBD, MBG/NBD), Gamma-Gamma, scoring, and
the functions the dbt Python models call (``clv_model``, ``frames``); ``backtest`` prints the
model card from the marts."""

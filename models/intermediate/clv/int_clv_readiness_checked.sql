-- One row per readiness check of the CLV model (Klaviyo's prerequisites, seed 002) as of the as-of
-- date, with the value observed and the threshold (a var). When one fails, predictive fields are
-- null and the build warns. The checks are the macro clv_readiness_checks (macros/clv), which the
-- backtest asks again at its calibration date (int_clv_backtest_readiness_checked).
{{ clv_readiness_checks(clock=as_of_date()) }}

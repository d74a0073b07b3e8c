"""The dashboard page as one HTML string: cards, tables, inline SVG charts, inline CSS and script.

The stylesheet and the table-sorting script are files beside this module (``static/``), inlined
into the page so it stays one self-contained file; a Content-Security-Policy forbids every
network request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from html import escape
from importlib.resources import files
from typing import Any

from clv_segments import __version__
from clv_segments.dashboard.charts import (
    GREEN,
    INK,
    MUTED,
    NEUTRAL,
    RED,
    SERIES_COLORS,
    YELLOW,
    Bar,
    CalibrationPoint,
    CalibrationSeries,
    PairedBar,
    TimelinePoint,
    calibration_plot,
    histogram,
    horizontal_bars,
    paired_bars,
    timeline,
)
from clv_segments.dashboard.formats import (
    NOT_AVAILABLE,
    fmt_count,
    fmt_date,
    fmt_days,
    fmt_money,
    fmt_orders,
    fmt_parameter,
    fmt_probability,
    fmt_purchases,
    fmt_score,
    fmt_share,
    is_missing,
)
from clv_segments.dashboard.queries import (
    CHART_KINDS,
    DashboardData,
    Forecaster,
    SegmentGuardrails,
    forecaster_position,
)

_STATIC = files("clv_segments.dashboard") / "static"
CSS = (_STATIC / "dashboard.css").read_text(encoding="utf-8")
SORT_SCRIPT = (_STATIC / "sort_tables.js").read_text(encoding="utf-8")

MODEL_LABELS = {
    "bgnbd": "BG/NBD",
    "pareto_nbd": "Pareto/NBD",
    "mbgnbd": "MBG/NBD",
    "gamma_gamma": "Gamma-Gamma",
    "zero": "Zero",
    "past_rate": "Past rate",
    "spend_rank": "Spend rank",
    "average_gap": "Average gap",
    "hindsight": "Hindsight",
}
FORECASTER_NOTES = {
    "zero": "no purchase for anyone",
    "past_rate": "each customer's past repeat rate, over the holdout",
    "spend_rank": "ranks customers by past spend",
    "average_gap": "Klaviyo's next-order date: last order plus the average gap",
    "hindsight": "ranks by the actual holdout revenue: the best a ranking can do",
}
PURCHASE_PARAMETERS = {
    "bgnbd": ("r", "alpha", "a", "b"),
    "mbgnbd": ("r", "alpha", "a", "b"),
    "pareto_nbd": ("r", "alpha", "s", "beta"),
}
SPEND_PARAMETERS = ("p", "q", "v")


def _model_label(model: Any) -> str:
    return MODEL_LABELS.get(str(model), str(model))


PROFILE_FIELDS: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("historic_number_of_orders", "Historic number of orders", fmt_count),
    ("days_since_last_order", "Days since last order", fmt_count),
    ("historic_clv", "Historic CLV", fmt_money),
    ("predicted_clv", "Predicted CLV", fmt_money),
    ("total_clv", "Total CLV", fmt_money),
    ("predicted_number_of_orders", "Predicted number of orders", fmt_orders),
    ("average_order_value", "Average order value", fmt_money),
    ("average_days_between_orders", "Average days between orders", fmt_days),
    ("churn_probability", "Churn probability", fmt_probability),
    ("churn_risk", "Churn risk", lambda v: NOT_AVAILABLE if is_missing(v) else str(v)),
    ("expected_date_of_next_order", "Expected date of next order", fmt_date),
)


CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)


def _empty(message: str) -> str:
    return f"<p class='empty' data-empty>{escape(message)}</p>"


def _kpi(label: str, value: str, field_name: str) -> str:
    return (
        f"<div class='kpi'><div class='label'>{escape(label)}</div>"
        f"<div class='value' data-field='{field_name}'>{escape(value)}</div></div>"
    )


def _render_kpis(data: DashboardData) -> str:
    if not data.kpis:
        return ""
    k = data.kpis
    return (
        "<div class='kpis'>"
        + "".join(
            [
                _kpi("Customers", fmt_count(k["customers"]), "customers"),
                _kpi("Customers with a valid order", fmt_count(k["buyers"]), "buyers"),
                _kpi("Customers scored", fmt_count(k["scored"]), "scored"),
                _kpi(
                    "Historic CLV, all customers",
                    fmt_money(k["historic_clv_total"]),
                    "historic_clv_total",
                ),
                _kpi(
                    f"Predicted CLV, next {fmt_count(k['prediction_window_days'])} days",
                    fmt_money(k["predicted_clv_total"]),
                    "predicted_clv_total",
                ),
                _kpi("High churn risk", fmt_count(k["high_churn_risk"]), "high_churn_risk"),
            ]
        )
        + "</div>"
    )


def _fact(label: str, value: str, field_name: str) -> str:
    return f"<dt>{escape(label)}</dt><dd data-field='{field_name}'>{escape(value)}</dd>"


READINESS_CHECKS = (
    ("customers_with_valid_order", "customers_with_valid_order", "Customers with a valid order"),
    ("history_days", "history_days", "Days of order history"),
    ("recent_order", "days_since_latest_order", "Days since the latest order"),
    ("customers_with_3_orders", "customers_with_3_orders", "Customers with 3 or more orders"),
)
"""(check name in failed_readiness_checks, diagnostics column, label)."""


def _purchase_fit(data: DashboardData) -> dict:
    """The current purchase-model row (fit_scope current, model_role purchases); {} if none."""
    rows = [row for row in data.current_fit if row.get("model_role") == "purchases"]
    chosen = [row for row in rows if row.get("is_chosen")]
    return (chosen or rows or [{}])[0]


def _spend_fit(data: DashboardData) -> dict:
    """The current Gamma-Gamma row (fit_scope current, model_role spend); {} if none."""
    return next((row for row in data.current_fit if row.get("model_role") == "spend"), {})


def _parameter_rows(model: str, row: dict, names: Sequence[str]) -> list[str]:
    rows = []
    for name in names:
        rows.append(
            f"<tr><td>{escape(model)}</td><td>{name}</td>"
            f"<td class='num' data-field='param_{name}'>{fmt_parameter(row.get(f'param_{name}'))}"
            f"</td><td class='num'>{fmt_parameter(row.get(f'param_{name}_std_error'))}</td></tr>"
        )
    return rows


def _render_current_fit(data: DashboardData) -> str:
    """The fit the predictions use: the chosen purchase model and why, the backtest's clock,
    the windows, the parameters, the fit and the readiness checks."""
    purchases, spend = _purchase_fit(data), _spend_fit(data)
    any_row = purchases or spend or (data.current_fit[0] if data.current_fit else {})
    chosen = next((f for f in data.backtest if f.is_chosen), None)
    purchase_model = (
        purchases.get("model_name")
        or data.model_choice.get("model_name")
        or (chosen.model if chosen else None)
    )
    choice_reason = purchases.get("choice_reason") or data.model_choice.get("choice_reason")
    purchase_label = _model_label(purchase_model) if purchase_model else "Purchase model"
    gaps = []
    if not purchases:
        gaps.append(
            "No current purchase-model fit in marts.clv_model_diagnostics (fit_scope current, "
            "model_role purchases): its parameters and fit are not shown."
        )
    if not spend:
        gaps.append(
            "No current Gamma-Gamma fit in marts.clv_model_diagnostics (fit_scope current, "
            "model_role spend): its parameters and fit are not shown."
        )
    reference = data.backtest[0] if data.backtest else None
    holdout_days = reference.holdout_days if reference else any_row.get("backtest_holdout_days")
    facts = [
        _fact(
            "Purchase model",
            f"{purchase_label} ({purchase_model})" if purchase_model else NOT_AVAILABLE,
            "purchase_model",
        ),
        _fact("Why this model", str(choice_reason or NOT_AVAILABLE), "choice_reason"),
        _fact(
            "Backtest calibration date",
            fmt_date(reference.calibration_date if reference else None),
            "calibration_date",
        ),
        _fact("Backtest holdout", f"{fmt_count(holdout_days)} days", "holdout_days"),
        _fact(
            "Historical period",
            f"{fmt_count(any_row.get('history_window_days'))} days",
            "history_window_days",
        ),
        _fact(
            "Prediction period",
            f"{fmt_count(any_row.get('prediction_window_days'))} days",
            "prediction_window_days",
        ),
        _fact(
            "Churn horizon",
            f"{fmt_count(any_row.get('churn_horizon_days'))} days",
            "churn_horizon_days",
        ),
        _fact("Last update (as of)", fmt_date(any_row.get("as_of_date")), "as_of_date"),
        _fact("Page generated", data.generated_at.strftime("%Y-%m-%d %H:%M UTC"), "generated_at"),
        _fact(
            "Status",
            f"{purchase_label} {purchases.get('status', NOT_AVAILABLE)}, "
            f"Gamma-Gamma {spend.get('status', NOT_AVAILABLE)}",
            "status",
        ),
    ]
    params, fits = [], []
    purchase_names = PURCHASE_PARAMETERS.get(
        str(purchase_model),
        [
            name
            for name in ("r", "alpha", "a", "b", "s", "beta")
            if not is_missing(purchases.get(f"param_{name}"))
        ],
    )
    for label, row, names in (
        (purchase_label, purchases, purchase_names),
        ("Gamma-Gamma", spend, SPEND_PARAMETERS),
    ):
        if not row:
            continue
        params += _parameter_rows(label, row, names)
        fits.append(
            f"<tr><td>{escape(label)}</td><td class='num'>{fmt_days(row.get('log_likelihood'))}"
            f"</td><td>{'yes' if row.get('is_converged') else 'no'}</td>"
            f"<td class='num'>{fmt_count(row.get('n_customers'))}</td>"
            f"<td class='num'>{fmt_count(row.get('n_cells'))}</td>"
            f"<td class='num'>{fmt_days(row.get('fit_seconds'))} s</td></tr>"
        )
    failed = {
        name.strip()
        for name in (any_row.get("failed_readiness_checks") or "").split(",")
        if name.strip()
    }
    checks = []
    for check, column, label in READINESS_CHECKS:
        passed = check not in failed
        checks.append(
            f"<tr data-check='{check}'><td>{escape(label)}</td>"
            f"<td class='num' data-field='{column}'>{fmt_count(any_row.get(column))}</td>"
            f"<td class='{'ok' if passed else 'fail'}'>{'passed' if passed else 'failed'}</td>"
            "</tr>"
        )
    if not any_row:
        verdict = _empty("marts.clv_model_diagnostics has no current fit (fit_scope current).")
    elif any_row.get("is_ready"):
        verdict = "<p class='ok' data-field='is_ready'>Ready: every readiness check passed.</p>"
    else:
        verdict = (
            "<p class='fail' data-field='is_ready'>Not ready: predictive fields are empty "
            f"until {escape(', '.join(sorted(failed)) or 'the checks')} pass.</p>"
        )
    return (
        "<div class='chart-grid'><div id='current-fit'><h3>Current fit</h3>"
        f"<dl class='facts'>{''.join(facts)}</dl>{''.join(_empty(gap) for gap in gaps)}"
        "<h3>Parameters</h3><table><thead><tr><th>Model</th><th>Parameter</th>"
        "<th class='num'>Estimate</th><th class='num'>Std. error</th></tr></thead>"
        f"<tbody>{''.join(params)}</tbody></table>"
        "<h3>Fit</h3><table><thead><tr><th>Model</th><th class='num'>Log-likelihood</th>"
        "<th>Converged</th><th class='num'>Customers</th><th class='num'>Cells</th>"
        f"<th class='num'>Fit time</th></tr></thead><tbody>{''.join(fits)}</tbody></table></div>"
        "<div id='readiness'><h3>Readiness checks</h3><table><thead><tr><th>Check</th>"
        "<th class='num'>Value</th><th>Result</th></tr></thead>"
        f"<tbody>{''.join(checks)}</tbody></table>{verdict}</div></div>"
    )


BACKTEST_COLUMNS: tuple[tuple[str, str, Callable[[Any], str], str], ...] = (
    ("predicted_purchases", "Predicted purchases", fmt_purchases, "holdout purchases, summed"),
    ("actual_purchases", "Actual purchases", fmt_purchases, "what the customers bought"),
    ("predicted_revenue", "Predicted revenue", fmt_money, "holdout revenue, summed"),
    ("actual_revenue", "Actual revenue", fmt_money, "what the customers spent"),
    (
        "poisson_deviance",
        "Poisson deviance",
        fmt_score,
        "mean per customer, of the purchases; lower is better (the choice under clv_model auto)",
    ),
    ("rmse", "RMSE", fmt_score, "root mean squared error of the purchases; lower is better"),
    ("mae", "MAE", fmt_score, "mean absolute error of the purchases; lower is better"),
    (
        "top_decile_revenue_share",
        "Top-decile revenue share",
        fmt_share,
        "share of the holdout revenue from the tenth ranked highest; higher is better",
    ),
    (
        "spearman_revenue",
        "Spearman",
        fmt_score,
        "rank correlation of the forecast and the holdout revenue; higher is better",
    ),
    (
        "churn_brier",
        "Churn Brier",
        fmt_score,
        "mean squared error of the churn probability; lower is better",
    ),
    (
        "interval_coverage",
        "Interval coverage",
        fmt_share,
        "share of customers whose purchases fell in the predicted interval",
    ),
    (
        "interval_expected_coverage",
        "Expected coverage",
        fmt_share,
        "the model's own probability of its interval (counts are whole numbers, so a central "
        "80 % interval holds 80 % or more): a calibrated model's coverage matches it",
    ),
    (
        "next_order_within_14_days",
        "Next order within 14 days",
        fmt_share,
        "of the holdout buyers, the share whose first order fell within 14 days of the "
        "predicted next-order date; higher is better",
    ),
)
"""(metric of clv_backtest_metrics, column label, format, what it measures)."""


def _candidate_colors(data: DashboardData) -> dict[str, str]:
    """One colour per candidate model, the same in every chart: the chosen one NEUTRAL."""
    models = [f.model for f in data.backtest if f.kind == "model"]
    models += sorted({str(row["model"]) for row in data.calibration} - set(models))
    chosen = {f.model for f in data.backtest if f.is_chosen}
    chosen |= {str(row["model"]) for row in data.calibration if row["is_chosen"]}
    others = iter(SERIES_COLORS)
    return {model: NEUTRAL if model in chosen else next(others, MUTED) for model in models}


def _backtest_row(forecaster: Forecaster) -> str:
    name = escape(_model_label(forecaster.model))
    if forecaster.is_chosen:
        name += " <span class='pill chosen-pill'>chosen</span>"
    note = FORECASTER_NOTES.get(forecaster.model)
    note = escape(forecaster.model + (f": {note}" if note else ""))
    cells = [
        f"<th scope='row'>{name}<div class='note'>{note}</div></th>",
        f"<td>{escape(forecaster.kind)}</td>",
    ]
    if not forecaster.measured:
        status = "history too short" if forecaster.status == "history_too_short" else "fit failed"
        detail = f": {forecaster.status_detail}" if forecaster.status_detail else ""
        cells.append(
            f"<td colspan='{len(BACKTEST_COLUMNS)}' class='unchecked' "
            f"data-status='{escape(forecaster.status, quote=True)}'>"
            f"{escape(status + detail)}</td>"
        )
    for metric, _, fmt, _ in BACKTEST_COLUMNS if forecaster.measured else ():
        value = forecaster.metrics.get(metric)
        if is_missing(value):
            why = "not measured" if forecaster.kind == "model" else "not forecast by this baseline"
            cells.append(
                f"<td class='num' data-metric='{metric}' title='{why}'>{NOT_AVAILABLE}</td>"
            )
        else:
            cells.append(f"<td class='num' data-metric='{metric}'>{fmt(value)}</td>")
    css = " class='chosen'" if forecaster.is_chosen else ""
    model = escape(forecaster.model, quote=True)
    return f"<tr data-model='{model}'{css}>{''.join(cells)}</tr>"


def _render_calibration(data: DashboardData, colors: Mapping[str, str]) -> str:
    if "calibration" in data.missing:
        return _empty(data.missing["calibration"])
    by_model: dict[str, list[dict]] = {}
    for row in data.calibration:
        by_model.setdefault(str(row["model"]), []).append(row)
    series = []
    for model in sorted(by_model, key=lambda m: forecaster_position(m, "model")):
        rows = by_model[model]
        chosen = any(row["is_chosen"] for row in rows)
        points = [
            CalibrationPoint(
                predicted=float(row["mean_predicted_churn"]),
                observed=float(row["observed_churn_share"]),
                label=f"churn band {row['churn_band']} ({fmt_share(row['band_lower'])} to "
                f"{fmt_share(row['band_upper'])}), {fmt_count(row['customers'])} customers",
            )
            for row in rows
            if not is_missing(row["mean_predicted_churn"])
            and not is_missing(row["observed_churn_share"])
        ]
        series.append(
            CalibrationSeries(
                key=model,
                name=_model_label(model) + (" (chosen)" if chosen else ""),
                points=points,
                color=colors.get(model, MUTED),
                emphasised=chosen,
            )
        )
    return calibration_plot(
        series,
        title="Churn calibration: predicted churn probability against the share who did not buy",
        x_name="predicted churn probability",
        y_name="observed churn share",
        value_format=fmt_share,
    ) + (
        "<p class='empty'>Per band of predicted churn probability: the mean probability each "
        "candidate predicted at the calibration date against the share of those customers who "
        "did not buy in the churn window after it. On the dashed diagonal, a model is perfectly "
        "calibrated.</p>"
    )


def _render_predicted_vs_actual(data: DashboardData, colors: Mapping[str, str]) -> str:
    measured = [f for f in data.backtest if f.measured]
    models = [f for f in measured if f.kind == "model"]
    reference = next((f for f in models if f.is_chosen), models[0])
    charts = []
    for measure, metric, fmt in (
        ("Purchases", "purchases", fmt_purchases),
        ("Revenue", "revenue", fmt_money),
    ):
        actual = reference.metrics.get(f"actual_{metric}")
        bars = [] if is_missing(actual) else [Bar("actual", float(actual), INK, fmt(actual))]
        for f in measured:
            value = f.metrics.get(f"predicted_{metric}")
            if is_missing(value):
                continue
            if f.kind == "model":
                label = _model_label(f.model) + (" (chosen)" if f.is_chosen else "")
                color = colors.get(f.model, MUTED)
            else:
                label, color = f"{_model_label(f.model)} ({f.kind})", MUTED
            bars.append(Bar(label, float(value), color, fmt(value)))
        charts.append(
            f"<h3>{measure} in the holdout</h3>"
            + horizontal_bars(
                bars, title=f"Backtest: predicted versus actual {metric} in the holdout"
            )
        )
    return "".join(charts)


def _render_backtest(data: DashboardData) -> str:
    """The evidence: candidates, baselines and the ceiling on the holdout, the churn
    calibration, predicted versus actual; or why the backtest did not run."""
    if "backtest" in data.missing:
        body = _empty(data.missing["backtest"])
    else:
        models = [f for f in data.backtest if f.kind == "model" and f.measured]
        reference = next((f for f in models if f.is_chosen), models[0])
        colors = _candidate_colors(data)
        head = "".join(
            f"<th class='num' scope='col' title='{escape(what, quote=True)}'>{escape(label)}</th>"
            for _, label, _, what in BACKTEST_COLUMNS
        )
        rows = "".join(_backtest_row(f) for f in data.backtest)
        body = (
            "<p>Each candidate purchase model was fitted on the orders up to the calibration "
            f"date, {fmt_date(reference.calibration_date)}, and scored on what the "
            f"{fmt_count(reference.metrics.get('customers'))} customers of that date did in the "
            f"{fmt_count(reference.holdout_days)} days up to the as-of date, "
            f"{fmt_date(reference.as_of_date)}, beside naive baselines and the hindsight "
            "ceiling. Purchases and revenue are holdout totals; hover a column for what it "
            "measures.</p>"
            "<div class='table-wrap'><table id='backtest-table' class='compact'><thead><tr>"
            f"<th scope='col'>Forecaster</th><th scope='col'>Kind</th>{head}</tr></thead>"
            f"<tbody>{rows}</tbody></table></div>"
            "<div class='chart-grid'>"
            f"<div><h3>Churn calibration</h3>{_render_calibration(data, colors)}</div>"
            f"<div>{_render_predicted_vs_actual(data, colors)}</div></div>"
        )
    return f"<div id='backtest'><h3>Backtest on the shop's own history</h3>{body}</div>"


def _render_model_card(data: DashboardData) -> str:
    current = (
        _empty(data.missing["model"]) if "model" in data.missing else (_render_current_fit(data))
    )
    return (
        "<section class='card wide' id='model-card'><h2>Model card</h2>"
        f"{current}{_render_backtest(data)}</section>"
    )


def _risk_pill(risk: Any) -> str:
    if is_missing(risk):
        return NOT_AVAILABLE
    return f"<span class='pill risk-{escape(str(risk))}'>{escape(str(risk))}</span>"


def _profile_timeline(profile: dict) -> str:
    points = []
    for column, label, kind in (
        ("first_order_at", "First order", "order"),
        ("last_order_at", "Last order", "order"),
        ("as_of_date", "As of", "today"),
        ("expected_date_of_next_order", "Expected next order", "expected"),
    ):
        value = profile.get(column)
        if not is_missing(value):
            day = value.date() if isinstance(value, datetime) else value
            points.append(TimelinePoint(day=day, label=label, kind=kind))
    return timeline(points, title=f"Orders and expected next order of {profile['customer_id']}")


def _render_examples(data: DashboardData) -> str:
    if "predictions" in data.missing:
        body = _empty(data.missing["predictions"])
    else:
        cards = []
        for rule, profile, n_matches in data.examples:
            head = (
                f"<div class='profile' data-example='{rule.number}'>"
                f"<h3>Example profile #{rule.number}</h3>"
                f"<div class='rule'>{escape(rule.description)}</div>"
            )
            if profile is None:
                cards.append(head + _empty("No profile matches.") + "</div>")
                continue
            facts = [_fact("Customer", str(profile["customer_id"]), "customer_id")]
            for column, label, fmt in PROFILE_FIELDS:
                if column == "churn_risk":
                    facts.append(
                        f"<dt>{label}</dt><dd data-field='{column}'>"
                        f"{_risk_pill(profile.get(column))}</dd>"
                    )
                else:
                    facts.append(_fact(label, fmt(profile.get(column)), column))
            cards.append(
                head
                + _profile_timeline(profile)
                + f"<dl class='facts'>{''.join(facts)}</dl>"
                + f"<div class='rule'>{fmt_count(n_matches)} customers match; the one with the "
                "median predicted CLV is shown.</div></div>"
            )
        body = f"<div class='profiles'>{''.join(cards)}</div>"
    return (
        "<section class='card wide' id='example-profiles'><h2>Example profiles</h2>"
        f"{body}</section>"
    )


def _sortable_table(table_id: str, columns: Sequence[tuple[str, str, str]], rows: list[str]) -> str:
    """columns: (label, sort type text|number, css class)."""
    head = "".join(
        f"<th data-sort='{kind}' class='{css}' scope='col'><button type='button'>"
        f"{escape(label)}</button></th>"
        for label, kind, css in columns
    )
    return (
        f"<table class='sortable' id='{table_id}'><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _cell(text: str, value: Any, css: str = "") -> str:
    raw = "" if is_missing(value) else str(value)
    css_attr = f" class='{css}'" if css else ""
    return f"<td{css_attr} data-value='{escape(raw, quote=True)}'>{text}</td>"


def _attributes_list(value: Any) -> list[str]:
    if is_missing(value):
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value if str(v).strip()]
    return [part.strip() for part in str(value).split(",") if part.strip()]


def _guardrail_cell(guardrails: dict[str, SegmentGuardrails] | None, segment: str) -> str:
    """ok only when checked and clear; "no history yet" (never ok) when the membership history
    does not cover the window; "breached: ..." for a breach."""
    checked = None if guardrails is None else guardrails.get(segment)
    if checked is None:
        return _cell(NOT_AVAILABLE, None)
    if checked.status == "breach":
        return _cell(f"<span class='fail'>breached: {escape(checked.breached)}</span>", "breached")
    if checked.status == "no_history_yet":
        title = escape(checked.not_checked_because, quote=True)
        return _cell(
            f"<span class='unchecked' title='{title}'>no history yet</span>", "no_history_yet"
        )
    if checked.status == "ok":
        return _cell("<span class='ok'>ok</span>", "ok")
    return _cell(NOT_AVAILABLE, None)


def _render_segments(data: DashboardData) -> str:
    if data.segments is None:
        body = _empty(data.missing["segments"])
    else:
        using = [s for s in data.segments if _attributes_list(s["clv_attributes_used"])]
        others = len(data.segments) - len(using)
        rows = []
        for s in using:
            attributes = _attributes_list(s["clv_attributes_used"])
            changed = s["membership_last_changed_at"]
            rows.append(
                f"<tr data-segment='{escape(str(s['segment_name']), quote=True)}'>"
                + _cell(
                    f"<span title='{escape(str(s['description'] or ''), quote=True)}'>"
                    f"{escape(str(s['segment_name']))}</span>",
                    s["segment_name"],
                )
                + _cell(escape(str(s["segment_kind"])), s["segment_kind"])
                + _cell(fmt_count(s["members"]), s["members"], "num")
                + _cell(fmt_count(s["emailable_members"]), s["emailable_members"], "num")
                + _cell(
                    "".join(f"<span class='pill'>{escape(a)}</span>" for a in attributes),
                    ", ".join(attributes),
                )
                + _cell(fmt_share(s["revenue_share"]), s["revenue_share"], "num")
                + _cell(fmt_date(changed), fmt_date(changed) if changed else None)
                + _guardrail_cell(data.guardrails, str(s["segment_name"]))
                + "</tr>"
            )
        columns = (
            ("Segment", "text", ""),
            ("Kind", "text", ""),
            ("Members", "number", "num"),
            ("Emailable", "number", "num"),
            ("CLV attributes used", "text", ""),
            ("Revenue share", "number", "num"),
            ("Last update", "text", ""),
            ("Email guardrails", "text", ""),
        )
        body = (
            _sortable_table("segments-table", columns, rows)
            if rows
            else _empty("No segment uses a CLV attribute yet.")
        )
        if others:
            body += f"<p class='empty'>{fmt_count(others)} other segments use no CLV attribute.</p>"
    return f"<section class='card wide' id='segments'><h2>Segments using CLV</h2>{body}</section>"


def _render_exposures(data: DashboardData) -> str:
    if data.exposures is None:
        body = _empty(data.missing["exposures"])
    elif not data.exposures:
        body = _empty("The dbt project declares no exposure.")
    else:
        rows = []
        for e in data.exposures:
            rows.append(
                f"<tr data-exposure='{escape(e['name'], quote=True)}'>"
                + _cell(
                    f"<span title='{escape(e['description'], quote=True)}'>"
                    f"{escape(e['name'])}</span>",
                    e["name"],
                )
                + _cell(escape(e["type"]), e["type"])
                + _cell(escape(e["maturity"]), e["maturity"])
                + _cell(escape(e["owner"]), e["owner"])
                + _cell(
                    "".join(
                        f"<span class='pill'>{escape(a)}</span>" for a in e["clv_attributes_used"]
                    ),
                    ", ".join(e["clv_attributes_used"]),
                )
                + _cell(escape(", ".join(e["models"])), ", ".join(e["models"]))
                + "</tr>"
            )
        columns = (
            ("Exposure", "text", ""),
            ("Type", "text", ""),
            ("Maturity", "text", ""),
            ("Owner", "text", ""),
            ("CLV attributes used", "text", ""),
            ("Marts read", "text", ""),
        )
        body = _sortable_table("exposures-table", columns, rows)
    return (
        "<section class='card wide' id='exposures'><h2>Exposures using CLV</h2>"
        "<p class='empty'>What reads the CLV marts: dashboards, exports and other tools "
        "declared as dbt exposures.</p>"
        f"{body}</section>"
    )


def _render_clv_distribution(data: DashboardData) -> str:
    if "predictions" in data.missing:
        body = _empty(data.missing["predictions"])
    elif not data.clv_bins:
        body = _empty("No customer is scored: see the readiness checks of the model card.")
    else:
        window = fmt_count(data.kpis.get("prediction_window_days"))
        body = histogram(
            data.clv_bins,
            title=f"Customers by predicted CLV over the next {window} days",
            x_format=lambda v: f"{v:,.0f}",
        ) + (
            "<p class='empty'>Scored customers by predicted CLV; each bar is a range of the "
            "1-2-5 series (0 to 10, 10 to 20, 20 to 50, ...), so the long tail stays visible.</p>"
        )
    return (
        "<section class='card' id='clv-distribution'><h2>Predicted CLV distribution</h2>"
        f"{body}</section>"
    )


def _render_churn(data: DashboardData) -> str:
    if "predictions" in data.missing:
        body = _empty(data.missing["predictions"])
    else:
        counts = data.churn_counts
        scored = sum(counts.get(band, 0) for band in ("low", "medium", "high"))
        bars = []
        for band, color in (("low", GREEN), ("medium", YELLOW), ("high", RED)):
            count = counts.get(band, 0)
            share = count / scored if scored else 0.0
            bars.append(Bar(band, count, color, f"{fmt_count(count)} ({fmt_share(share)})"))
        bars.append(Bar("no prediction", counts.get("no prediction", 0), MUTED))
        body = horizontal_bars(bars, title="Customers by churn risk band") + (
            "<p class='empty'>Low below 33 %, high above 66 % probability of no order in the "
            "churn horizon; shares of scored customers.</p>"
        )
    return f"<section class='card' id='churn-risk'><h2>Churn risk</h2>{body}</section>"


def _render_sizes(data: DashboardData) -> str:
    if data.segment_sizes is None:
        body = _empty(data.missing["segments"])
    elif not data.segment_sizes:
        body = _empty("No tier or persona segment in segment_summary.")
    else:
        customers = data.kpis.get("customers") or 0
        parts = []
        for kind in CHART_KINDS:
            rows = [
                PairedBar(
                    label=str(s["segment_name"]),
                    first=(s["members"] or 0) / customers if customers else 0.0,
                    second=float(s["revenue_share"] or 0.0),
                )
                for s in data.segment_sizes
                if s["segment_kind"] == kind
            ]
            if rows:
                title = {"clv_tier": "CLV tiers", "aov_tier": "AOV tiers", "persona": "Personas"}
                parts.append(
                    f"<div><h3>{title[kind]}</h3>"
                    + paired_bars(
                        rows,
                        title=f"{title[kind]}: share of customers and of revenue",
                        first_name="share of customers",
                        second_name="share of revenue",
                    )
                    + "</div>"
                )
        body = f"<div class='chart-grid'>{''.join(parts)}</div>"
    return (
        "<section class='card wide' id='segment-sizes'><h2>Tiers and personas: size and "
        f"revenue share</h2>{body}</section>"
    )


def render_html(data: DashboardData) -> str:
    """The whole page as one string (inline CSS, SVG and script; no external resource)."""
    as_of = fmt_date(data.kpis.get("as_of_date")) if data.kpis else NOT_AVAILABLE
    sections = [
        _render_model_card(data),
        _render_examples(data),
        _render_clv_distribution(data),
        _render_churn(data),
        _render_sizes(data),
        _render_segments(data),
        _render_exposures(data),
    ]
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<link rel='icon' href='data:,'>"
        f"<title>CLV dashboard, as of {escape(as_of)}</title><style>{CSS}</style></head><body>"
        "<header><h1>Customer lifetime value</h1>"
        f"<p>Predictions as of <strong data-field='page_as_of_date'>{escape(as_of)}</strong>; "
        "amounts in the reporting currency.</p></header>"
        f"{_render_kpis(data)}<main>{''.join(sections)}</main>"
        f"<footer>clv_segments {escape(__version__)}, generated "
        f"{data.generated_at.strftime('%Y-%m-%d %H:%M UTC')} from {escape(data.database)}."
        f"</footer><script>{SORT_SCRIPT}</script></body></html>"
    )

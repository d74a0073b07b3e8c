"""The CLV dashboard: seed 002's example-profile rules on a hand-made warehouse, the values of the
page against the marts of the demo build, and the page in headless Chromium (no console error,
no network, the cards show the marts' values, sorting works; a screenshot is kept under
artifacts/test/)."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest

from clv_segments.dashboard import write_dashboard
from headless_chromium import CHROMIUM, HeadlessChromium

from dbt_harness import PROJECT_DIR

AS_OF = date(2026, 11, 20)
SCREENSHOT = PROJECT_DIR / "artifacts" / "test" / "dashboard.png"
GENERATED_AT = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)


class _Fields(HTMLParser):
    """Text of every element with a data-field, per example profile (0 = outside them)."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[int, dict[str, str]] = {0: {}}
        self.empty_messages: list[str] = []
        self._example = 0
        self._depth_in_example = 0
        self._open: list[tuple[str | None, list[str]]] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if "data-example" in attributes:
            self._example = int(attributes["data-example"])
            self.fields[self._example] = {}
            self._depth_in_example = 0
        if self._example and tag == "div":
            self._depth_in_example += 1
        field = attributes.get("data-field")
        marker = "empty" if "data-empty" in attributes else field
        if tag not in ("br", "meta", "link", "rect", "circle", "path", "line"):
            self._open.append((marker, []))

    def handle_endtag(self, tag):
        if tag in ("br", "meta", "link", "rect", "circle", "path", "line"):
            return
        marker, text = self._open.pop()
        joined = "".join(text).strip()
        for _, outer in self._open:
            outer.append(joined)
        if marker == "empty":
            self.empty_messages.append(joined)
        elif marker:
            self.fields.setdefault(self._example, {})[marker] = joined
        if self._example and tag == "div":
            self._depth_in_example -= 1
            if self._depth_in_example == 0:
                self._example = 0

    def handle_data(self, data):
        if self._open:
            self._open[-1][1].append(data)


def _parse(html: str) -> _Fields:
    parser = _Fields()
    parser.feed(html)
    return parser


# --- seed 002's example-profile rules, on a warehouse written by hand --------------------------

# (customer_id, valid orders, days since the last order, predicted CLV, prediction_status)
HAND_MADE_CUSTOMERS = [
    # Predicted CLVs are set so that a rule wrong by one day or one order picks another example.
    ("a1", 4, 89, 100.0, "scored"),  # rule 1 (more than 3 orders, d < 90)
    ("a4", 4, 5, 300.0, "scored"),  # rule 1
    ("a5", 6, 30, 200.0, "scored"),  # rule 1: the median predicted CLV of a1, a4, a5
    ("a6", 7, 1, None, "model_not_ready"),  # rule 1 but not scored: not picked while some are
    ("a7", 5, 2, None, "model_not_ready"),  # idem
    ("a2", 3, 10, 120.0, "scored"),  # 3 orders is not "more than 3": no rule
    ("a3", 4, 90, 150.0, "scored"),  # d = 90 is not within the last 90 days: no rule
    ("b3", 2, 3, 50.0, "scored"),  # rule 2 (2 orders, d < 90)
    ("b1", 2, 0, 50.0, "scored"),  # rule 2: ties on predicted CLV go to the smaller id
    ("b2", 2, 90, 999.0, "scored"),  # d = 90: no rule
    ("c1", 1, 59, 10.0, "scored"),  # rule 3 (1 order, d < 60)
    ("c2", 1, 60, 5.0, "scored"),  # d = 60: neither within 60 days nor more than 60 days ago
    ("c3", 1, 61, 20.0, "scored"),  # rule 5 (1 order, d > 60)
    ("d2", 5, 180, 999.0, "scored"),  # d = 180 is not more than 180 days ago: rule 4 has none
    ("n1", 0, None, None, "no_valid_order"),
]


@pytest.fixture(scope="module")
def hand_made_warehouse(tmp_path_factory) -> Path:
    """A warehouse with only marts.customer_predictions (nothing else built)."""
    path = tmp_path_factory.mktemp("hand_made") / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(
            """
            create table marts.customer_predictions (
                customer_id varchar, historic_clv decimal(18, 2), predicted_clv decimal(18, 2),
                total_clv decimal(18, 2), historic_number_of_orders bigint,
                predicted_number_of_orders double, average_order_value decimal(18, 2),
                average_days_between_orders double, churn_probability double,
                churn_risk varchar, expected_date_of_next_order date, probability_alive double,
                expected_average_order_value decimal(18, 2), first_order_at timestamp,
                last_order_at timestamp, days_since_last_order integer,
                prediction_status varchar, as_of_date date,
                prediction_window_days integer
            )
            """
        )
        for customer_id, orders, days, predicted, status in HAND_MADE_CUSTOMERS:
            # the last order late in the evening (UTC) of the day d days before the as-of date
            last = (
                None
                if days is None
                else datetime.combine(AS_OF - timedelta(days=days), datetime.min.time())
                + timedelta(hours=23, minutes=30)
            )
            con.execute(
                "insert into marts.customer_predictions values "
                "(?, 40, ?, ?, ?, 1.5, 20, null, 0.5, 'medium', null, 0.9, 21, ?, ?, ?, ?, ?, 365)",
                [
                    customer_id,
                    predicted,
                    None if predicted is None else 40 + predicted,
                    orders,
                    last,
                    last,
                    days,
                    status,
                    AS_OF,
                ],
            )
    return path


@pytest.fixture(scope="module")
def hand_made_page(hand_made_warehouse, tmp_path_factory) -> _Fields:
    out = tmp_path_factory.mktemp("hand_made_page") / "index.html"
    result = write_dashboard(
        hand_made_warehouse, out, manifest_path=None, generated_at=GENERATED_AT
    )
    assert set(result.missing) == {"model", "segments", "exposures", "backtest"}
    return _parse(out.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("example", "customer_id"),
    [(1, "a5"), (2, "b1"), (3, "c1"), (5, "c3")],
)
def test_example_profile_follows_seed_002_rule(hand_made_page, example, customer_id):
    assert hand_made_page.fields[example]["customer_id"] == customer_id


def test_example_profile_without_a_match_says_so(hand_made_page):
    assert "customer_id" not in hand_made_page.fields[4]
    assert "No profile matches." in hand_made_page.empty_messages


def test_example_profile_shows_the_predicted_fields(hand_made_page):
    example = hand_made_page.fields[1]  # a5: predicted CLV 200, historic 40, total 240
    assert example["predicted_clv"] == "200.00"
    assert example["total_clv"] == "240.00"
    assert example["historic_number_of_orders"] == "6"
    assert example["days_since_last_order"] == "30"
    assert example["churn_probability"] == "50.0 %"


def test_missing_marts_leave_their_cards_saying_so(hand_made_page):
    messages = " ".join(hand_made_page.empty_messages)
    assert "Segments not built" in messages
    assert "clv_model_diagnostics not built" in messages
    assert "clv_backtest_metrics not built" in messages


# --- the model card's backtest, on warehouses written by hand ----------------------------------

CALIBRATION_DATE = AS_OF - timedelta(days=90)
BACKTEST_METRICS = (
    "customers",
    "predicted_purchases",
    "actual_purchases",
    "predicted_revenue",
    "actual_revenue",
    "rmse",
    "poisson_deviance",
    "mae",
    "top_decile_revenue_share",
    "spearman_revenue",
    "churn_brier",
    "interval_coverage",
    "interval_expected_coverage",
    "next_order_within_14_days",
    "next_order_date_before_clock_share",
)
TOO_SHORT = "readiness checks failed: history_days"
FALLBACK_REASON = (
    "var clv_model is auto but the backtest did not run (bgnbd: readiness checks failed: "
    "history_days; mbgnbd: readiness checks failed: history_days; pareto_nbd: readiness checks "
    "failed: history_days): var clv_model_fallback"
)


def _write_model_marts(path: Path, metrics: list[tuple], choice_reason: str) -> None:
    """marts.clv_model_diagnostics (the current fit: bgnbd and Gamma-Gamma, ready),
    marts.clv_backtest_metrics with ``metrics`` (model, model_kind, metric, value, is_chosen,
    backtest_status, status_detail) and an empty marts.clv_backtest_calibration."""
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(
            """
            create table marts.clv_model_diagnostics as
            select * from (values
                ('current', 'bgnbd', 'purchases', 'fitted', 0.25, 4.5, 0.8, 2.5, null, null,
                 true, ?),
                ('current', 'gamma_gamma', 'spend', 'fitted', null, null, null, null, 6.2, 3.8,
                 false, null)
            ) as t(fit_scope, model_name, model_role, status, param_r, param_alpha, param_a,
                   param_b, param_p, param_q, is_chosen, choice_reason)
            cross join (
                select true as is_ready, cast(null as varchar) as failed_readiness_checks,
                    900 as customers_with_valid_order, 200 as history_days,
                    3 as days_since_latest_order, 150 as customers_with_3_orders,
                    ?::date as as_of_date, 1500 as history_window_days,
                    365 as prediction_window_days, 90 as churn_horizon_days,
                    90 as backtest_holdout_days
            )
            """,
            [choice_reason, AS_OF],
        )
        con.execute(
            "create table marts.clv_backtest_metrics (model varchar, model_kind varchar, "
            "metric varchar, value double, is_chosen boolean, backtest_status varchar, "
            "status_detail varchar, calibration_date date, as_of_date date, holdout_days integer)"
        )
        for row in metrics:
            con.execute(
                "insert into marts.clv_backtest_metrics values (?, ?, ?, ?, ?, ?, ?, ?, ?, 90)",
                [*row, CALIBRATION_DATE, AS_OF],
            )
        con.execute(
            "create table marts.clv_backtest_calibration (model varchar, churn_band integer, "
            "band_lower double, band_upper double, customers bigint, "
            "mean_predicted_churn double, observed_churn_share double, is_chosen boolean, "
            "calibration_date date, as_of_date date)"
        )


@pytest.fixture(scope="module")
def short_history(tmp_path_factory) -> tuple[str, _Fields, dict]:
    """The backtest could not run: at the calibration date the history was too short for every
    candidate, so the current fit uses var clv_model_fallback."""
    folder = tmp_path_factory.mktemp("short_history")
    metrics = [
        (model, "model", metric, None, model == "bgnbd", "history_too_short", TOO_SHORT)
        for model in ("bgnbd", "pareto_nbd", "mbgnbd")
        for metric in BACKTEST_METRICS
    ]
    _write_model_marts(folder / "warehouse.duckdb", metrics, FALLBACK_REASON)
    result = write_dashboard(
        folder / "warehouse.duckdb", folder / "index.html", None, generated_at=GENERATED_AT
    )
    html = result.path.read_text(encoding="utf-8")
    return html, _parse(html), dict(result.missing)


def test_model_card_says_the_history_is_too_short_to_backtest(short_history):
    html, page, missing = short_history
    sentence = f"History too short to backtest: {TOO_SHORT}."
    assert missing["backtest"] == sentence
    assert "calibration" not in missing
    assert sentence in page.empty_messages
    assert "backtest-table" not in html
    assert "Churn calibration" not in html
    # the current fit is still shown, with why the fallback model was used
    fields = page.fields[0]
    assert fields["purchase_model"] == "BG/NBD (bgnbd)"
    assert fields["choice_reason"] == FALLBACK_REASON
    assert fields["calibration_date"] == CALIBRATION_DATE.isoformat()
    assert fields["holdout_days"] == "90 days"
    assert (fields["param_r"], fields["param_b"], fields["param_p"]) == ("0.25", "2.5", "6.2")


def test_model_card_names_a_missing_current_fit(tmp_path):
    """Without the current purchase-model row, the card says so and still shows the choice (from
    the backtest's row of the chosen model) and Gamma-Gamma."""
    metrics = [
        ("bgnbd", "model", metric, None, True, "history_too_short", TOO_SHORT)
        for metric in BACKTEST_METRICS
    ]
    database = tmp_path / "warehouse.duckdb"
    _write_model_marts(database, metrics, FALLBACK_REASON)
    with duckdb.connect(str(database)) as con:
        con.execute(
            "delete from marts.clv_model_diagnostics "
            "where fit_scope = 'current' and model_role = 'purchases'"
        )
        con.execute(
            "insert into marts.clv_model_diagnostics "
            "(fit_scope, model_name, model_role, status, is_chosen, choice_reason) "
            "values ('backtest', 'bgnbd', 'purchases', 'not_ready', true, ?)",
            [FALLBACK_REASON],
        )
    result = write_dashboard(database, tmp_path / "index.html", None, generated_at=GENERATED_AT)
    page = _parse(result.path.read_text(encoding="utf-8"))
    fields = page.fields[0]
    assert fields["purchase_model"] == "BG/NBD (bgnbd)"
    assert fields["choice_reason"] == FALLBACK_REASON
    assert "param_r" not in fields
    assert fields["param_p"] == "6.2"
    assert any(
        message.startswith("No current purchase-model fit in marts.clv_model_diagnostics")
        for message in page.empty_messages
    )


def _backtest_rows(html: str) -> dict[str, tuple[bool, dict[str, str], str]]:
    """model -> (highlighted as chosen, metric -> text, the whole row's text) of the backtest
    table."""
    table = re.search(r"<table id='backtest-table'.*?</table>", html, re.S)
    assert table, "no backtest table"
    rows = {}
    for model, css, row in re.findall(
        r"<tr data-model='([^']+)'( class='chosen')?>(.*?)</tr>", table.group(0), re.S
    ):
        cells = dict(re.findall(r"data-metric='([^']+)'[^>]*>([^<]*)</td>", row))
        rows[model] = (bool(css), cells, re.sub(r"<[^>]+>", " ", row))
    return rows


def test_a_candidate_that_failed_keeps_its_row_saying_why(tmp_path):
    measured = {
        "customers": 1200,
        "predicted_purchases": 410.26,
        "actual_purchases": 388,
        "predicted_revenue": 20510.5,
        "actual_revenue": 19876.126,
        "poisson_deviance": 0.86632,
        "top_decile_revenue_share": 0.4567,
    }
    metrics = [
        ("bgnbd", "model", metric, measured.get(metric), True, "measured", None)
        for metric in BACKTEST_METRICS
    ]
    metrics += [
        ("pareto_nbd", "model", metric, None, False, "fit_failed", "no penalizer converged")
        for metric in BACKTEST_METRICS
    ]
    metrics += [
        ("zero", "baseline", "predicted_purchases", 0.0, False, "measured", None),
        ("zero", "baseline", "actual_purchases", 388.0, False, "measured", None),
    ]
    _write_model_marts(tmp_path / "warehouse.duckdb", metrics, "forced by var clv_model")
    result = write_dashboard(
        tmp_path / "warehouse.duckdb", tmp_path / "index.html", None, generated_at=GENERATED_AT
    )
    assert result.missing["calibration"].startswith("marts.clv_backtest_calibration has no row")
    rows = _backtest_rows(result.path.read_text(encoding="utf-8"))
    assert list(rows) == ["bgnbd", "pareto_nbd", "zero"]  # candidates, then baselines
    chosen, cells, _ = rows["bgnbd"]
    assert chosen
    assert cells["predicted_purchases"] == "410.3"
    assert cells["actual_purchases"] == "388.0"
    assert cells["predicted_revenue"] == "20,510.50"
    assert cells["actual_revenue"] == "19,876.13"
    assert cells["poisson_deviance"] == "0.8663"
    assert cells["top_decile_revenue_share"] == "45.7 %"
    assert cells["rmse"] == "—"  # not measured
    chosen, cells, text = rows["pareto_nbd"]
    assert not chosen and cells == {}
    assert "fit failed: no penalizer converged" in text
    chosen, cells, _ = rows["zero"]
    assert (cells["predicted_purchases"], cells["poisson_deviance"]) == ("0.0", "—")


# --- the page on the demo build ---------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_page(demo_build, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("dashboard")
    result = write_dashboard(
        demo_build.database,
        folder / "index.html",
        manifest_path=demo_build.target_dir / "manifest.json",
        generated_at=GENERATED_AT,
    )
    assert result.missing == {}
    return result.path


@pytest.fixture(scope="module")
def demo_fields(demo_page) -> _Fields:
    return _parse(demo_page.read_text(encoding="utf-8"))


def test_page_loads_nothing_from_outside(demo_page):
    html = demo_page.read_text(encoding="utf-8")
    assert re.findall(r"(?:src|href)\s*=\s*['\"](?!data:|#)", html) == []
    assert "<script src" not in html and "@import" not in html
    # the only absolute URL is the SVG namespace, which is a name, not a request
    assert set(re.findall(r"https?://[^'\" )]+", html)) == {"http://www.w3.org/2000/svg"}
    assert "default-src 'none'" in html


def test_model_card_shows_the_current_fit(demo_build, demo_fields):
    purchases = demo_build.frame(
        "select * from marts.clv_model_diagnostics "
        "where fit_scope = 'current' and model_role = 'purchases'"
    )
    assert len(purchases) == 1, "the demo build has one current purchase-model fit"
    row = purchases.iloc[0]
    spend = demo_build.frame(
        "select * from marts.clv_model_diagnostics "
        "where fit_scope = 'current' and model_role = 'spend'"
    ).iloc[0]
    (calibration_date, holdout_days) = demo_build.query(
        "select distinct calibration_date, holdout_days from marts.clv_backtest_metrics"
    )[0]
    fields = demo_fields.fields[0]
    assert fields["purchase_model"].endswith(f"({row.model_name})")
    assert fields["choice_reason"] == row.choice_reason
    assert fields["calibration_date"] == calibration_date.isoformat()
    assert fields["holdout_days"] == f"{holdout_days} days"
    assert fields["history_window_days"] == f"{int(row.history_window_days):,} days"
    assert fields["prediction_window_days"] == f"{int(row.prediction_window_days):,} days"
    assert fields["as_of_date"] == "2026-11-20"
    names = (
        ["r", "alpha", "s", "beta"] if row.model_name == "pareto_nbd" else ["r", "alpha", "a", "b"]
    )
    for name in names:
        assert fields[f"param_{name}"] == f"{row[f'param_{name}']:.4g}", name
    for name in ("p", "q", "v"):
        assert fields[f"param_{name}"] == f"{spend[f'param_{name}']:.4g}", name
    assert fields["customers_with_valid_order"] == f"{int(row.customers_with_valid_order):,}"
    assert fields["is_ready"].startswith("Ready")


# how the page writes each metric of the backtest table, written out here
_PURCHASES, _MONEY = "{:,.1f}".format, "{:,.2f}".format
_SCORE, _SHARE = "{:,.4f}".format, lambda value: f"{value * 100:.1f} %"
BACKTEST_TABLE_FORMATS = {
    "predicted_purchases": _PURCHASES,
    "actual_purchases": _PURCHASES,
    "predicted_revenue": _MONEY,
    "actual_revenue": _MONEY,
    "poisson_deviance": _SCORE,
    "rmse": _SCORE,
    "mae": _SCORE,
    "top_decile_revenue_share": _SHARE,
    "spearman_revenue": _SCORE,
    "churn_brier": _SCORE,
    "interval_coverage": _SHARE,
    "interval_expected_coverage": _SHARE,
    "next_order_within_14_days": _SHARE,
}


def test_backtest_table_shows_the_marts_figures(demo_build, demo_page):
    metrics = demo_build.query(
        "select model, metric, value, is_chosen, backtest_status from marts.clv_backtest_metrics"
    )
    measured_candidates = demo_build.query(
        "select distinct model from marts.clv_backtest_metrics "
        "where model_kind = 'model' and backtest_status = 'measured'"
    )
    assert measured_candidates, "the demo build's backtest measured no candidate"
    rows = _backtest_rows(demo_page.read_text(encoding="utf-8"))
    assert set(rows) == {model for model, *_ in metrics}
    assert {model for model, (chosen, _, _) in rows.items() if chosen} == {
        model for model, _, _, is_chosen, _ in metrics if is_chosen
    }
    expected = {
        (model, metric): BACKTEST_TABLE_FORMATS[metric](value)
        for model, metric, value, _, status in metrics
        if metric in BACKTEST_TABLE_FORMATS and status == "measured" and value is not None
    }
    shown = {
        (model, metric): text
        for model, (_, cells, _) in rows.items()
        for metric, text in cells.items()
        if text != "—"
    }
    assert shown == expected


def _svg(html: str, label_start: str) -> str:
    found = re.search(rf"<svg [^>]*aria-label='{re.escape(label_start)}.*?</svg>", html, re.S)
    assert found, f"no chart labelled {label_start}..."
    return found.group(0)


def test_calibration_chart_plots_the_marts_bands(demo_build, demo_page):
    svg = _svg(demo_page.read_text(encoding="utf-8"), "Churn calibration")
    points = re.findall(r"<circle [^>]*data-series='([^']+)'[^>]*><title>([^<]*)</title>", svg)
    bands = demo_build.query(
        "select model, churn_band, customers, mean_predicted_churn, observed_churn_share "
        "from marts.clv_backtest_calibration"
    )
    assert bands and len(points) == len(bands)
    for model, band, customers, predicted, observed in bands:
        tips = [tip for series, tip in points if series == model and f"band {band} (" in tip]
        assert len(tips) == 1, (model, band)
        assert tips[0].endswith(
            f"{customers:,} customers: predicted {predicted * 100:.1f} %, "
            f"observed {observed * 100:.1f} %"
        )


@pytest.mark.parametrize(("measure", "fmt"), [("purchases", _PURCHASES), ("revenue", _MONEY)])
def test_predicted_versus_actual_shows_the_marts_totals(demo_build, demo_page, measure, fmt):
    svg = _svg(
        demo_page.read_text(encoding="utf-8"),
        f"Backtest: predicted versus actual {measure} in the holdout",
    )
    shown = sorted(
        tip.rsplit(": ", 1)[1] for tip in re.findall(r"<title>([^<]*)</title></rect>", svg)
    )
    predicted = demo_build.query(
        f"select value from marts.clv_backtest_metrics where metric = 'predicted_{measure}' "
        "and backtest_status = 'measured' and value is not null"
    )
    actual = demo_build.query(
        f"select distinct value from marts.clv_backtest_metrics where metric = 'actual_{measure}' "
        "and model_kind = 'model' and backtest_status = 'measured'"
    )
    assert len(actual) == 1
    assert shown == sorted(fmt(value) for (value,) in predicted + actual)


def test_kpis_are_the_marts_totals(demo_build, demo_fields):
    customers, scored, predicted_total = demo_build.query(
        "select count(*), count(*) filter (where prediction_status = 'scored'), "
        "sum(predicted_clv) from marts.customer_predictions"
    )[0]
    fields = demo_fields.fields[0]
    assert fields["customers"] == f"{customers:,}"
    assert fields["scored"] == f"{scored:,}"
    assert fields["predicted_clv_total"] == f"{float(predicted_total):,.2f}"


def _scored_matches(orders: str, days: str) -> str:
    """Scored customers with `orders` valid orders whose days since the last order are `days`."""
    return f"""
        select customer_id, predicted_clv
        from marts.customer_predictions
        where prediction_status = 'scored'
          and historic_number_of_orders {orders}
          and date_diff('day', cast(last_order_at as date), as_of_date) {days}
        order by predicted_clv, customer_id
    """


@pytest.mark.parametrize(
    ("example", "orders", "days"),
    [
        (1, "> 3", "< 90"),
        (2, "= 2", "< 90"),
        (3, "= 1", "< 60"),
        (4, "> 3", "> 180"),
        (5, "= 1", "> 60"),
    ],
)
def test_demo_example_profiles_are_the_median_match(demo_build, demo_fields, example, orders, days):
    matches = demo_build.query(_scored_matches(orders, days))
    assert matches, f"the demo data has no customer for example profile {example}"
    customer_id, predicted = matches[(len(matches) - 1) // 2]
    shown = demo_fields.fields[example]
    assert shown["customer_id"] == customer_id
    assert shown["predicted_clv"] == f"{float(predicted):,.2f}"


def _guardrail_cells(html: str) -> dict[str, tuple[str, str]]:
    """segment -> (data-value, text) of the last cell (Email guardrails) of its row."""
    cells = {}
    for segment, row in re.findall(r"<tr data-segment='([^']+)'>(.*?)</tr>", html):
        value, text = re.findall(r"<td[^>]*data-value='([^']*)'>(.*?)</td>", row)[-1]
        cells[segment] = (value, re.sub(r"<[^>]+>", "", text))
    return cells


def test_guardrail_cell_says_ok_only_when_checked(demo_build, tmp_path):
    """On a copy whose guardrails are set by hand: a breach, a checked segment, one without
    history; and on the build itself (a first run), where none can be checked yet."""
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(demo_build.database, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute(
            "update marts.segment_email_health set guardrail_status = case segment_name "
            "when 'clv_low' then 'breach' when 'clv_high' then 'ok' else guardrail_status end, "
            "is_breach = case segment_name when 'clv_low' then true when 'clv_high' then false "
            "else is_breach end, breached_guardrails = case segment_name "
            "when 'clv_low' then 'open_rate, spam_rate' else breached_guardrails end"
        )
    cells = _guardrail_cells(
        write_dashboard(copy, tmp_path / "index.html", None).path.read_text("utf-8")
    )
    assert cells["clv_low"] == ("breached", "breached: open_rate, spam_rate")
    assert cells["clv_high"] == ("ok", "ok")
    assert cells["clv_medium"] == ("no_history_yet", "no history yet")

    built = _guardrail_cells(
        write_dashboard(demo_build.database, tmp_path / "built.html", None).path.read_text("utf-8")
    )
    statuses = demo_build.query("select distinct guardrail_status from marts.segment_email_health")
    assert statuses == [("no_history_yet",)]
    assert set(built.values()) == {("no_history_yet", "no history yet")}
    assert "run `clv-segments backfill`" in (tmp_path / "built.html").read_text("utf-8")


# --- in the browser ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser_page(demo_page):
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} missing: run tests/setup/install_chromium.sh (the test set-up)")
    with HeadlessChromium(window_size=(1400, 1000)) as browser:
        page = browser.open(demo_page.as_uri())
        yield browser, page


def _column(page, table: str, index: int) -> list[str]:
    return page.evaluate(
        f"Array.from(document.querySelectorAll('#{table} tbody tr'))"
        f".map(row => row.cells[{index}].textContent.trim())"
    )


def test_page_opens_without_console_errors_or_requests(browser_page, demo_page):
    browser, page = browser_page
    assert page.evaluate("document.readyState") == "complete"
    assert page.evaluate("document.querySelectorAll('svg.chart').length") >= 5
    assert browser.console_errors() == []
    assert browser.requested_urls() == [demo_page.as_uri()]


def test_cards_in_the_browser_show_the_marts(browser_page, demo_build):
    _, page = browser_page
    (customers,) = demo_build.query("select count(*) from marts.customer_predictions")[0]
    shown = page.evaluate("document.querySelector(\"[data-field='customers']\").textContent")
    assert shown == f"{customers:,}"
    expected = dict(
        demo_build.query(
            "select segment_name, members from marts.segment_summary "
            "where clv_attributes_used <> ''"
        )
    )
    names = _column(page, "segments-table", 0)
    members = _column(page, "segments-table", 2)
    assert dict(zip(names, members, strict=True)) == {k: f"{v:,}" for k, v in expected.items()}
    statuses = dict(
        demo_build.query("select segment_name, guardrail_status from marts.segment_email_health")
    )
    shown = {"ok": "ok", "no_history_yet": "no history yet"}  # the build has no breach
    guardrails = _column(page, "segments-table", 7)
    assert dict(zip(names, guardrails, strict=True)) == {n: shown[statuses[n]] for n in names}
    exposures = _column(page, "exposures-table", 0)
    assert exposures == ["Activation exports (email platform)", "CLV dashboard"]


def test_clicking_headers_sorts_the_segments(browser_page, demo_build):
    browser, page = browser_page
    members = dict(
        demo_build.query(
            "select segment_name, members from marts.segment_summary "
            "where clv_attributes_used <> ''"
        )
    )
    header = "#segments-table th:nth-child(3) button"
    page.click(header)
    ascending = [int(v.replace(",", "")) for v in _column(page, "segments-table", 2)]
    assert ascending == sorted(members.values())
    assert (
        page.evaluate(
            "document.querySelector('#segments-table th:nth-child(3)').getAttribute('aria-sort')"
        )
        == "ascending"
    )
    page.click(header)
    descending = [int(v.replace(",", "")) for v in _column(page, "segments-table", 2)]
    assert descending == sorted(members.values(), reverse=True)
    page.click("#segments-table th:nth-child(1) button")
    assert _column(page, "segments-table", 0) == sorted(members)
    page.screenshot(SCREENSHOT)
    assert SCREENSHOT.stat().st_size > 10_000
    assert browser.console_errors() == []


def test_model_card_in_the_browser_shows_the_backtest(browser_page, demo_build):
    browser, page = browser_page
    rows = page.evaluate(
        "Array.from(document.querySelectorAll('#backtest-table tbody tr'))"
        ".map(row => [row.dataset.model, row.classList.contains('chosen'),"
        " getComputedStyle(row.cells[1]).backgroundColor])"
    )
    models = {
        model
        for (model,) in demo_build.query("select distinct model from marts.clv_backtest_metrics")
    }
    assert {model for model, _, _ in rows} == models
    chosen, deviance = demo_build.query(
        "select model, value from marts.clv_backtest_metrics "
        "where is_chosen and metric = 'poisson_deviance'"
    )[0]
    assert [model for model, is_chosen, _ in rows if is_chosen] == [chosen]
    highlighted = {background for _, is_chosen, background in rows if is_chosen}
    plain = {background for _, is_chosen, background in rows if not is_chosen}
    assert highlighted.isdisjoint(plain), "the chosen model's row is not highlighted"
    shown = page.evaluate(
        "document.querySelector(\"#backtest-table tr.chosen [data-metric='poisson_deviance']\")"
        ".textContent"
    )
    assert shown == f"{deviance:,.4f}"
    chart = "#backtest svg[aria-label^='Churn calibration']"
    box = page.evaluate(
        f'(() => {{ const r = document.querySelector("{chart}").getBoundingClientRect();'
        " return {width: r.width, height: r.height}; })()"
    )
    assert box["width"] > 300 and box["height"] > 200, box
    (bands,) = demo_build.query("select count(*) from marts.clv_backtest_calibration")[0]
    points = page.evaluate(
        f'Array.from(document.querySelectorAll("{chart} circle")).map(c => {{'
        " const r = c.getBoundingClientRect(); return r.width > 0 && r.height > 0; })"
    )
    assert len(points) == bands and all(points)
    assert browser.console_errors() == []

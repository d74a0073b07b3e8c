"""The CLV dashboard (seed 002) as one self-contained HTML page, written after the build.

It reads the public marts of the warehouse file (``queries``) and writes a single HTML file
(``render``) with inline CSS and one small table-sorting script (``static/``), inline SVG
charts drawn in Python (``charts``) and the value formats of ``formats``. A
Content-Security-Policy forbids every network request, so the page opens offline, from disk.

Cards, as on Klaviyo's CLV dashboard:

- the model card, from the marts only: the current fit (``marts.clv_model_diagnostics``, fit_scope
  current): the purchase model in use and why (choice_reason), the backtest's calibration date
  and holdout days, historical and prediction periods, last update (the as-of date), the
  parameters of the purchase model (r, alpha, a, b; or r, alpha, s, beta for Pareto/NBD) and of
  Gamma-Gamma, and the readiness checks; then the backtest every build makes
  (``marts.clv_backtest_metrics``): each candidate's figures on the holdout beside the naive
  baselines and the hindsight ceiling, the chosen one highlighted, the churn calibration per
  band (``marts.clv_backtest_calibration``) and predicted versus actual purchases and revenue.
  When the backtest did not run, one sentence says why ("History too short to backtest: ...");
- five example profiles chosen by seed 002's rules (``EXAMPLE_PROFILE_RULES``), on valid-order
  counts and days since the last valid order; among the matches, the scored customer with the
  median predicted CLV (ties: the smaller customer_id), so an example is typical, not extreme;
- segments using CLV (``marts.segment_summary``), sortable by each column, with their email
  guardrails (``marts.segment_email_health.guardrail_status``): "ok" only when checked and
  clear, "breached: ...", or "no history yet" while the membership history does not cover
  the window (the guardrails are not checked then; never shown as ok);
- exposures using CLV: the dbt exposures of the manifest (what seed 002 calls the campaigns,
  flows and forms using CLV);
- charts: predicted CLV distribution, churn risk bands, tier and persona sizes with their share
  of revenue.

A mart (or the manifest) that is missing makes its card say so (e.g. "segments not built"); the
page is still written. Values are shown with the formats of ``fmt_*`` below, which tests rely on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from clv_segments.dashboard.formats import (
    clv_bin_edges,
    fmt_count,
    fmt_days,
    fmt_money,
    fmt_orders,
    fmt_probability,
    fmt_purchases,
    fmt_score,
    fmt_share,
)
from clv_segments.dashboard.queries import (
    DEFAULT_MANIFEST_PATH,
    EXAMPLE_PROFILE_RULES,
    ExampleRule,
    load_dashboard_data,
)
from clv_segments.dashboard.render import render_html

__all__ = [
    "DEFAULT_DASHBOARD_PATH",
    "DEFAULT_MANIFEST_PATH",
    "EXAMPLE_PROFILE_RULES",
    "DashboardResult",
    "ExampleRule",
    "clv_bin_edges",
    "fmt_count",
    "fmt_days",
    "fmt_money",
    "fmt_orders",
    "fmt_probability",
    "fmt_purchases",
    "fmt_score",
    "fmt_share",
    "load_dashboard_data",
    "render_html",
    "write_dashboard",
]

DEFAULT_DASHBOARD_PATH = Path("artifacts/dashboard/index.html")


@dataclass(frozen=True)
class DashboardResult:
    path: Path
    missing: Mapping[str, str]  # card -> why it is empty


def write_dashboard(
    database: str | Path,
    out: str | Path = DEFAULT_DASHBOARD_PATH,
    manifest_path: str | Path | None = DEFAULT_MANIFEST_PATH,
    generated_at: datetime | None = None,
) -> DashboardResult:
    """Read the marts and write the dashboard page to ``out``; returns its path and the cards
    left empty (with why)."""
    data = load_dashboard_data(database, manifest_path, generated_at)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(render_html(data), encoding="utf-8")
    tmp.replace(path)
    return DashboardResult(path=path, missing=dict(data.missing))

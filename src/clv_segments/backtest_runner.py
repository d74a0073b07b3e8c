"""Backtest of the whole pipeline: predict at the end of a calibration period, score the holdout.

The dbt project runs twice on the same raw files, each time into its own DuckDB file under the
run folder (``<out>/<run>/``), never the shared warehouse:

1. calibration build: the full ``dbt build`` (unit tests aside: they do not read these data)
   with ``as_of_date`` = the calibration end and ``clv_prediction_days`` = the holdout length.
   Staging rejects every row dated after the as-of date (reason ``after_as_of_date``), so nothing
   of the holdout reaches the model.
2. holdout build: ``dbt build --select +int_orders_netted`` with ``as_of_date`` = the holdout end:
   the same cleaning and "orders that count" rules, and nothing else.

The actuals come from the warehouse of the second build, not from re-reading the files, and not
from a model of the first build: that build rejected the holdout rows by construction, and
reading them back from rejected rows or from the source would bypass the cleaning rules and the
one clock. Two builds share nothing but the raw files.

Per customer of the calibration period (a scored prediction; optionally a first valid order inside
a cohort window): predicted purchase occasions and value over the holdout from
``marts.customer_predictions``; actual purchase occasions (distinct UTC dates with a valid order,
as BG/NBD counts them) and revenue (net valid order value) with calibration end < date <= holdout
end from the holdout build's ``int_orders_netted``. The naive baseline carries the customer's
repeat-purchase rate (frequency and repeat value over T, both from the calibration build)
forward; the historic-spend baseline ranks by all calibration spend (historic_clv).
`clv_segments.backtest.score_backtest` scores.

Results: ``<out>/backtest_results.json`` (one entry per run, under ``runs``) and
``<out>/backtest_metrics.csv`` (long: run, section, method, metric, value, published), both
merged run by run so the dashboard reads one file; per-customer rows in
``<out>/<run>/backtest_customers.csv``.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from clv_segments.backtest import FHL_2005_REFERENCE, backtest_to_frame, score_backtest
from clv_segments.cdnow import load_cdnow

__all__ = [
    "CDNOW_DATA",
    "BacktestConfig",
    "BacktestError",
    "BacktestRun",
    "format_report",
    "run_backtest",
]

CDNOW_DATA: Mapping[str, str] = {"cdnow": "master", "cdnow-sample": "sample"}
"""Values of ``--data`` that load the CDNOW files shipped in lifetimes, and their variant."""

RESULTS_JSON = "backtest_results.json"
METRICS_CSV = "backtest_metrics.csv"
CUSTOMERS_CSV = "backtest_customers.csv"
METRICS_COLUMNS = [
    "run",
    "dataset",
    "time_unit",
    "section",
    "method",
    "metric",
    "value",
    "published",
]

# Published precision of each reference value: the comparison rounds ours to it.
_PUBLISHED_DECIMALS = {
    ("bg_nbd", "r"): 3,
    ("bg_nbd", "alpha"): 3,
    ("bg_nbd", "a"): 3,
    ("bg_nbd", "b"): 3,
    ("bg_nbd", "log_likelihood"): 1,
    ("bg_nbd", "n_customers"): 0,
    ("gamma_gamma", "p"): 2,
    ("gamma_gamma", "q"): 2,
    ("gamma_gamma", "v"): 2,
    ("gamma_gamma", "n_customers"): 0,
}
FHL_SOURCE = "Fader, Hardie and Lee (2005), CDNOW 2,357-customer sample, weeks"
_REFERENCE_KEYS = {"bg_nbd": "bgnbd", "gamma_gamma": "gamma_gamma"}
_PARAMETERS = {"bg_nbd": ("r", "alpha", "a", "b"), "gamma_gamma": ("p", "q", "v")}

Progress = Callable[[str], None]


class BacktestError(RuntimeError):
    """The backtest cannot go on: a dbt build failed, or the model is not ready or not fitted."""


@dataclass(frozen=True)
class BacktestConfig:
    """What to backtest.

    Attributes:
        data: ``cdnow`` (CDNOW_master, 23,570 customers), ``cdnow-sample`` (the 2,357 sample)
            or a folder of raw files (the input contract).
        out_dir: where the results go; each run works in ``out_dir / run_name``.
        calibration_end, holdout_end: the split; default from the folder's ``dataset.json``
            (CDNOW: 1997-09-30 and 1998-06-30).
        time_unit: var ``clv_time_unit`` (day or week).
        cohort: first valid order date window (inclusive) of the customers scored; default
            ``dataset.json``'s ``first_purchase_cohort``, else every customer.
        reporting_currency: var ``reporting_currency``; default ``dataset.json``'s currency,
            else the project's default.
        include_zero_value_orders: var ``include_zero_value_orders`` (FHL 2005 counts the
            CDNOW sample's $0 purchases).
        run_name: default ``<dataset>_<time_unit>``.
        project_dir: the dbt project; default the current folder when it holds
            dbt_project.yml, else the checkout this package is installed from.
    """

    data: str
    out_dir: Path
    calibration_end: date | None = None
    holdout_end: date | None = None
    time_unit: str = "day"
    cohort: tuple[date, date] | None = None
    reporting_currency: str | None = None
    include_zero_value_orders: bool = False
    run_name: str | None = None
    project_dir: Path | None = None


@dataclass
class BacktestRun:
    """One finished backtest: the settings used, what was measured, and where it was written."""

    name: str
    dataset: str
    raw_data_path: Path
    calibration_end: date
    holdout_end: date
    time_unit: str
    cohort: tuple[date, date] | None
    dbt_vars: dict[str, Any]
    customers: dict[str, int]
    parameters: dict[str, dict[str, float | None]]
    metrics: dict[str, Any]
    comparison: list[dict[str, Any]]
    reference_source: str | None
    builds: dict[str, dict[str, Any]]
    frame: pd.DataFrame = field(repr=False)
    results_path: Path | None = None
    metrics_path: Path | None = None
    customers_path: Path | None = None

    @property
    def holdout_days(self) -> int:
        return (self.holdout_end - self.calibration_end).days

    def to_dict(self) -> dict[str, Any]:
        """The run as JSON-ready data (NaN as null)."""
        return _json_ready(
            {
                "run": self.name,
                "dataset": self.dataset,
                "raw_data_path": str(self.raw_data_path),
                "calibration_end": self.calibration_end.isoformat(),
                "holdout_end": self.holdout_end.isoformat(),
                "holdout_days": self.holdout_days,
                "time_unit": self.time_unit,
                "cohort": [d.isoformat() for d in self.cohort] if self.cohort else None,
                "dbt_vars": self.dbt_vars,
                "customers": self.customers,
                "parameters": self.parameters,
                "metrics": self.metrics,
                "reference_source": self.reference_source,
                "comparison": self.comparison,
                "builds": self.builds,
                "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        )


# --- inputs -------------------------------------------------------------------------------------


def _default_project_dir() -> Path:
    cwd = Path.cwd()
    if (cwd / "dbt_project.yml").is_file():
        return cwd
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "dbt_project.yml").is_file():
        return checkout
    raise FileNotFoundError(
        "dbt_project.yml not found in the current folder nor in the package checkout: "
        "run from the project folder or pass --project-dir"
    )


def _dbt_executable() -> str:
    beside_python = Path(sys.executable).with_name("dbt")
    if beside_python.is_file():
        return str(beside_python)
    found = shutil.which("dbt")
    if found is None:
        raise FileNotFoundError(
            "the dbt executable was not found (install the project: make install)"
        )
    return found


def _read_dataset_json(raw_dir: Path) -> dict[str, Any]:
    path = raw_dir / "dataset.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _as_date(value: Any, what: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{what} {value!r} is not a YYYY-MM-DD date") from None


def _prepare_data(config: BacktestConfig, progress: Progress) -> tuple[str, Path, dict[str, Any]]:
    """(dataset name, raw folder, dataset.json) for ``config.data``; loads CDNOW when asked."""
    if config.data in CDNOW_DATA:
        variant = CDNOW_DATA[config.data]
        raw_dir = Path(config.out_dir) / f"_raw_cdnow_{variant}"
        progress(f"loading CDNOW {variant} into {raw_dir}")
        summary = load_cdnow(raw_dir, variant=variant)
        return summary.dataset, raw_dir, _read_dataset_json(raw_dir)
    raw_dir = Path(config.data)
    if not raw_dir.is_dir():
        raise FileNotFoundError(
            f"--data {config.data!r} is neither {' nor '.join(CDNOW_DATA)} "
            "nor a folder of raw files"
        )
    meta = _read_dataset_json(raw_dir)
    return str(meta.get("dataset") or raw_dir.resolve().name), raw_dir, meta


def _split(config: BacktestConfig, meta: Mapping[str, Any], raw_dir: Path) -> tuple[date, date]:
    ends = []
    for option, given, key in (
        ("--calibration-end", config.calibration_end, "calibration_end"),
        ("--holdout-end", config.holdout_end, "holdout_end"),
    ):
        value = given or meta.get(key)
        if value is None:
            raise ValueError(f"{option} is required: {raw_dir}/dataset.json does not give {key}")
        ends.append(_as_date(value, option))
    calibration_end, holdout_end = ends
    if holdout_end <= calibration_end:
        raise ValueError(
            f"--holdout-end {holdout_end} must be after --calibration-end {calibration_end}"
        )
    return calibration_end, holdout_end


# --- dbt ----------------------------------------------------------------------------------------


def _run_dbt(
    args: list[str],
    project_dir: Path,
    database: Path,
    workdir: Path,
    dbt_vars: Mapping[str, Any],
    label: str,
) -> dict[str, Any]:
    """One dbt invocation into ``database``; BacktestError (with the log's tail) when it fails."""
    log_dir = workdir / f"logs_{label}"
    env = {
        **os.environ,
        "CLV_DUCKDB_PATH": str(database),
        "DBT_PROFILES_DIR": str(project_dir),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    command = [
        _dbt_executable(),
        *args,
        "--project-dir",
        str(project_dir),
        "--target-path",
        str(workdir / f"target_{label}"),
        "--log-path",
        str(log_dir),
        "--vars",
        json.dumps(dict(dbt_vars)),
    ]
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=project_dir, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    output = proc.stdout + proc.stderr
    done = re.findall(r"Done\. (PASS=\d+ WARN=\d+ ERROR=\d+ SKIP=\d+.*)", output)
    summary = done[-1].strip() if done else ""
    if proc.returncode != 0:
        tail = "\n".join(output.strip().splitlines()[-25:])
        raise BacktestError(
            f"the {label} build (dbt {' '.join(args)}) failed with exit code {proc.returncode}; "
            f"full log in {log_dir / 'dbt.log'}\n{tail}"
        )
    warnings = re.search(r"WARN=(\d+)", summary)
    return {
        "seconds": round(seconds, 1),
        "summary": summary,
        "warnings": int(warnings.group(1)) if warnings else 0,
        "database": str(database),
    }


# --- reading the two warehouses -----------------------------------------------------------------

_CUSTOMERS_SQL = """
with

predictions as (
    select
        customer_id,
        predicted_number_of_orders,
        predicted_clv,
        historic_clv,
        cast(first_order_at as date) as first_order_date
    from calibration.marts.customer_predictions
    where prediction_status = 'scored'
),

rft as (
    select
        customer_id,
        frequency,
        t_days,
        coalesce(monetary_value * frequency, 0) as repeat_value
    from calibration.intermediate.int_customers_summarized_to_rft
),

holdout_orders as (
    select
        customer_id,
        count(distinct ordered_date) as actual_orders,
        sum(net_amount) as actual_value
    from holdout.intermediate.int_orders_netted
    where is_valid_order
        and days_ago < $holdout_days
    group by 1
),

final as (
    select
        predictions.customer_id,
        predictions.first_order_date,
        predictions.predicted_number_of_orders as predicted_orders,
        coalesce(holdout_orders.actual_orders, 0) as actual_orders,
        cast(predictions.predicted_clv as double) as predicted_value,
        cast(coalesce(holdout_orders.actual_value, 0) as double) as actual_value,
        rft.frequency as historic_orders,
        cast(rft.repeat_value as double) as historic_value,
        cast(predictions.historic_clv as double) as historic_spend,
        rft.t_days as calibration_days,
        $holdout_days as holdout_days
    from predictions
    inner join rft
        on predictions.customer_id = rft.customer_id
    left join holdout_orders
        on predictions.customer_id = holdout_orders.customer_id
)

select * from final
order by customer_id
"""


def _read_warehouses(
    calibration_db: Path, holdout_db: Path, holdout_days: int
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    """(per-customer frame, model diagnostics, customer counts) from the two builds."""
    with duckdb.connect() as con:
        con.execute(f"attach '{calibration_db}' as calibration (read_only)")
        con.execute(f"attach '{holdout_db}' as holdout (read_only)")
        diagnostics = con.execute("select * from calibration.marts.clv_model_diagnostics").df()
        frame = con.execute(_CUSTOMERS_SQL, {"holdout_days": holdout_days}).df()
        counts = con.execute(
            """
            select
                count(*) filter (where prediction_status <> 'no_valid_order'),
                count(*) filter (where prediction_status = 'scored')
            from calibration.marts.customer_predictions
            """
        ).fetchone()
    return frame, diagnostics, {"with_valid_order": int(counts[0]), "scored": int(counts[1])}


def _parameters(diagnostics: pd.DataFrame) -> dict[str, dict[str, float | None]]:
    parameters: dict[str, dict[str, float | None]] = {}
    for row in diagnostics.to_dict("records"):
        model = row["model_name"]
        if row["status"] != "fitted":
            detail = row.get("failed_readiness_checks") or row.get("status_detail")
            raise BacktestError(
                f"{model} is {row['status']} at the calibration end ({detail}); "
                "see marts.clv_model_diagnostics of the calibration build"
            )
        values = {name: row[f"param_{name}"] for name in _PARAMETERS[model]}
        values |= {
            "log_likelihood": row["log_likelihood"],
            "n_customers": row["n_customers"],
            "n_customers_fitted": row["n_customers_fitted"],
        }
        parameters[model] = {k: None if pd.isna(v) else float(v) for k, v in values.items()}
    return parameters


def _comparison(
    parameters: Mapping[str, Mapping[str, float | None]], reference: Mapping[str, Any] | None
) -> list[dict[str, Any]]:
    """One row per parameter: ours, and the published value with ours rounded to its precision."""
    rows = []
    for model, names in _PARAMETERS.items():
        extra = ("log_likelihood", "n_customers")
        for name in (*names, *extra):
            ours = parameters.get(model, {}).get(name)
            published = None
            if reference is not None:
                published = reference[_REFERENCE_KEYS[model]].get(name)
            decimals = _PUBLISHED_DECIMALS.get((model, name))
            matches = None
            if published is not None and ours is not None and decimals is not None:
                matches = abs(round(ours, decimals) - published) < 10 ** -(decimals + 3)
            if ours is None and published is None:
                continue
            rows.append(
                {
                    "model": model,
                    "metric": name,
                    "ours": ours,
                    "published": published,
                    "decimals": decimals,
                    "matches": matches,
                }
            )
    return rows


# --- writing ------------------------------------------------------------------------------------


def _json_ready(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return _json_ready(value.item())
    return value


def _metric_rows(run: BacktestRun) -> list[dict[str, Any]]:
    common = {"run": run.name, "dataset": run.dataset, "time_unit": run.time_unit}
    rows = [
        {**common, "section": "holdout", **row, "published": None}
        for row in backtest_to_frame(run.metrics).to_dict("records")
    ]
    rows.append(
        {**common, "section": "holdout", "method": "all", "metric": "n_customers",
         "value": float(run.metrics["n_customers"]), "published": None}
    )  # fmt: skip
    rows += [
        {
            **common,
            "section": "parameters",
            "method": row["model"],
            "metric": row["metric"],
            "value": row["ours"],
            "published": row["published"],
        }
        for row in run.comparison
    ]
    return rows


def _write_results(run: BacktestRun, out_dir: Path, workdir: Path) -> None:
    """Merge this run into the results JSON and the long CSV (other runs are kept)."""
    results_path = out_dir / RESULTS_JSON
    results = {"runs": {}}
    if results_path.is_file():
        results = json.loads(results_path.read_text(encoding="utf-8"))
        results.setdefault("runs", {})
    results["runs"][run.name] = run.to_dict()
    results_path.write_text(json.dumps(results, indent=2, sort_keys=False) + "\n", "utf-8")

    metrics_path = out_dir / METRICS_CSV
    kept: list[dict[str, Any]] = []
    if metrics_path.is_file():
        with metrics_path.open(newline="", encoding="utf-8") as handle:
            kept = [row for row in csv.DictReader(handle) if row["run"] != run.name]
    with metrics_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=METRICS_COLUMNS)
        writer.writeheader()
        writer.writerows(kept)
        writer.writerows(_json_ready(_metric_rows(run)))

    customers_path = workdir / CUSTOMERS_CSV
    run.frame.to_csv(customers_path, index=False)
    run.results_path, run.metrics_path, run.customers_path = (
        results_path,
        metrics_path,
        customers_path,
    )


# --- the run ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """A resolved BacktestConfig: the data, the split and the vars of both builds."""

    name: str
    dataset: str
    raw_dir: Path
    project_dir: Path
    workdir: Path
    calibration_end: date
    holdout_end: date
    time_unit: str
    cohort: tuple[date, date] | None
    calibration_vars: dict[str, Any]
    holdout_vars: dict[str, Any]

    @property
    def holdout_days(self) -> int:
        return (self.holdout_end - self.calibration_end).days

    @property
    def databases(self) -> dict[str, Path]:
        return {label: self.workdir / f"{label}.duckdb" for label in ("calibration", "holdout")}


def _plan(config: BacktestConfig, progress: Progress) -> _Plan:
    if config.time_unit not in ("day", "week"):
        raise ValueError(f"--time-unit must be day or week: {config.time_unit!r}")
    project_dir = Path(config.project_dir) if config.project_dir else _default_project_dir()
    Path(config.out_dir).mkdir(parents=True, exist_ok=True)
    dataset, raw_dir, meta = _prepare_data(config, progress)
    calibration_end, holdout_end = _split(config, meta, raw_dir)
    cohort = config.cohort
    if cohort is None and meta.get("first_purchase_cohort"):
        start, end = meta["first_purchase_cohort"]
        cohort = (_as_date(start, "cohort start"), _as_date(end, "cohort end"))
    common_vars: dict[str, Any] = {"raw_data_path": str(raw_dir.resolve())}
    currency = config.reporting_currency or meta.get("currency")
    if currency:
        common_vars["reporting_currency"] = currency
    if config.include_zero_value_orders:
        common_vars["include_zero_value_orders"] = True
    name = config.run_name or f"{dataset}_{config.time_unit}"
    return _Plan(
        name=name,
        dataset=dataset,
        raw_dir=raw_dir,
        project_dir=project_dir,
        workdir=Path(config.out_dir) / name,
        calibration_end=calibration_end,
        holdout_end=holdout_end,
        time_unit=config.time_unit,
        cohort=cohort,
        calibration_vars={
            **common_vars,
            "as_of_date": calibration_end.isoformat(),
            "clv_time_unit": config.time_unit,
            "clv_prediction_days": (holdout_end - calibration_end).days,
        },
        holdout_vars={**common_vars, "as_of_date": holdout_end.isoformat()},
    )


def _build_both(plan: _Plan, progress: Progress) -> dict[str, dict[str, Any]]:
    """The calibration build (the whole project) and the holdout build (orders only)."""
    plan.workdir.mkdir(parents=True, exist_ok=True)
    for database in plan.databases.values():
        database.unlink(missing_ok=True)
    # Unit tests check rules on hand-written inputs, not on these data: `make test` runs them.
    steps = {
        "calibration": (
            ["build", "--exclude-resource-type", "unit_test"],
            plan.calibration_vars,
            f"dbt build, as_of_date {plan.calibration_end}",
        ),
        "holdout": (
            ["build", "--select", "+int_orders_netted", "--indirect-selection", "cautious"]
            + ["--exclude-resource-type", "unit_test"],
            plan.holdout_vars,
            f"dbt build +int_orders_netted, as_of_date {plan.holdout_end}",
        ),
    }
    builds = {}
    for label, (args, dbt_vars, what) in steps.items():
        progress(f"[{plan.name}] {label} build: {what} ...")
        builds[label] = _run_dbt(
            args, plan.project_dir, plan.databases[label], plan.workdir, dbt_vars, label
        )
        progress(f"[{plan.name}]   {builds[label]['summary']} in {builds[label]['seconds']} s")
    return builds


def _score(plan: _Plan, builds: dict[str, dict[str, Any]]) -> BacktestRun:
    databases = plan.databases
    frame, diagnostics, customers = _read_warehouses(
        databases["calibration"], databases["holdout"], plan.holdout_days
    )
    parameters = _parameters(diagnostics)
    if plan.cohort is not None:
        start, end = (pd.Timestamp(day) for day in plan.cohort)
        frame = frame.loc[frame["first_order_date"].between(start, end)].reset_index(drop=True)
    customers["in_cohort"] = len(frame)
    if frame.empty:
        raise BacktestError(f"no scored customer in the cohort {plan.cohort}")
    is_fhl = plan.dataset == "cdnow_sample" and plan.time_unit == "week"
    return BacktestRun(
        name=plan.name,
        dataset=plan.dataset,
        raw_data_path=plan.raw_dir,
        calibration_end=plan.calibration_end,
        holdout_end=plan.holdout_end,
        time_unit=plan.time_unit,
        cohort=plan.cohort,
        dbt_vars=plan.calibration_vars,
        customers=customers,
        parameters=parameters,
        metrics=score_backtest(frame),
        comparison=_comparison(parameters, FHL_2005_REFERENCE if is_fhl else None),
        reference_source=FHL_SOURCE if is_fhl else None,
        builds=builds,
        frame=frame,
    )


def run_backtest(config: BacktestConfig, progress: Progress | None = None) -> BacktestRun:
    """Run both builds, score the holdout and write the results; returns the run.

    Raises ValueError or FileNotFoundError for bad settings or data, BacktestError when a
    build fails or the model is not fitted at the calibration end.
    """
    progress = progress or (lambda message: None)
    plan = _plan(config, progress)
    builds = _build_both(plan, progress)
    run = _score(plan, builds)
    _write_results(run, Path(config.out_dir), plan.workdir)
    return run


# --- the printed report -------------------------------------------------------------------------


def _number(value: Any, decimals: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, float) and abs(value) >= 1000:
        return f"{value:,.{min(decimals, 1)}f}"
    return f"{value:,.{decimals}f}"


def format_report(run: BacktestRun) -> str:
    """A readable table of the run: parameters beside the published ones, then the holdout."""
    lines = [
        f"Backtest {run.name}: {run.dataset}, time unit {run.time_unit}",
        f"  calibration up to {run.calibration_end}, holdout {run.holdout_days} days to "
        f"{run.holdout_end}; cohort (first valid order) "
        + (f"{run.cohort[0]} .. {run.cohort[1]}" if run.cohort else "all customers"),
        f"  customers: {run.customers['with_valid_order']:,} with a valid order at the "
        f"calibration end, {run.customers['scored']:,} scored, {run.customers['in_cohort']:,} "
        "in the cohort (scored below)",
    ]
    if run.dbt_vars.get("include_zero_value_orders"):
        lines.append("  $0 orders count as purchases (include_zero_value_orders), as in FHL 2005")
    lines += ["", f"  {'parameter':<28}{'ours':>14}{'published':>14}  match"]
    for row in run.comparison:
        decimals = 4 if row["metric"] not in ("log_likelihood", "n_customers") else 1
        if row["metric"] == "n_customers":
            decimals = 0
        published = row["published"]
        match = {True: "yes", False: "NO", None: ""}[row["matches"]]
        lines.append(
            f"  {row['model'] + ' ' + row['metric']:<28}{_number(row['ours'], decimals):>14}"
            f"{_number(published, row['decimals'] or 0) if published is not None else '-':>14}"
            f"  {match}"
        )
    if run.reference_source:
        lines.append(f"  published: {run.reference_source}")
        if not run.dbt_vars.get("include_zero_value_orders"):
            lines.append(
                "  FHL count the sample's 8 $0 purchases as purchases: "
                "--include-zero-value-orders reproduces them"
            )
    else:
        lines.append("  published: none for this data and unit (FHL 2005: the sample in weeks)")

    model, naive = run.metrics["model"], run.metrics["naive"]
    spend = run.metrics["historic_spend"]
    rows = [
        ("repeat orders: predicted", "predicted_orders_total", 1),
        ("repeat orders: actual", "actual_orders_total", 1),
        ("  predicted / actual", "orders_ratio", 3),
        ("revenue: predicted", "predicted_revenue_total", 1),
        ("revenue: actual", "actual_revenue_total", 1),
        ("  predicted / actual", "revenue_ratio", 3),
        ("MAE orders per customer", "mae_orders", 3),
        ("RMSE orders per customer", "rmse_orders", 3),
        ("MAE revenue per customer", "mae_value", 2),
        ("RMSE revenue per customer", "rmse_value", 2),
        ("Spearman, orders", "spearman_orders", 3),
        ("Spearman, revenue", "spearman_value", 3),
        ("top 10 % share of revenue", "top_decile_revenue_share", 3),
    ]
    lines += [
        "",
        f"  holdout, {run.metrics['n_customers']:,} customers"
        f"{'':<7}{'model':>14}{'naive':>14}{'hist. spend':>14}",
    ]
    for label, key, decimals in rows:
        lines.append(
            f"  {label:<35}{_number(model[key], decimals):>14}{_number(naive[key], decimals):>14}"
            f"{_number(spend.get(key), decimals):>14}"
        )
    lines += [
        "  naive = each customer's repeat rate over T carried forward; hist. spend = ranking by",
        "  all calibration spend (ranking figures only).",
    ]
    return "\n".join(lines)

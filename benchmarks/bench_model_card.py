"""Benchmark the whole CLV step of a build, backtest included, as the dbt Python models run it.

The step is four calls (python_models/): `fit_backtest` (BG/NBD, Pareto/NBD, MBG/NBD and
Gamma-Gamma fitted on the calibration cells), `score_cells_from_fit` on the calibration cells
(every candidate: expected purchases, interval, churn, next purchase), then `fit_clv` of the
chosen model on the current cells and its scoring. It is timed once per possible choice, on:

- CDNOW master in days (the literature's split: calibration to 1997-09-30, now 1998-06-30);
- N simulated customers (default 1,000,000) in daily units, the simulator of
  bench_clv_step.py, drawn twice (calibration and now) with the default vars
  (clv_fit_sample_size 100,000, so the fits run on a seeded sample of the cells).

The SQL that summarises the orders into cells is not included (the dbt build benchmark,
bench_dbt_build.py, times every node). The load average is printed beside every figure: the
machine may be shared.

Run:  PYTHONPATH=src python benchmarks/bench_model_card.py [--customers N] [--skip-cdnow]
This is a benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from datetime import date

import numpy as np
import pandas as pd
from bench_clv_step import simulate_daily_customers

from clv_segments.clv.bgnbd import aggregate_cells
from clv_segments.clv.clv_model import ClvSettings, fit_backtest, fit_clv, score_cells_from_fit
from clv_segments.clv.purchase_models import MODEL_NAMES
from clv_segments.demo.cdnow import cdnow_path, read_cdnow

READY = pd.DataFrame({"check_name": ["all"], "passed": [True]})


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f}"


def cells_of(customers: pd.DataFrame) -> pd.DataFrame:
    """The SQL's int_customers_aggregated_to_cells, in pandas (cell_id, frequency, recency, t)."""
    cells = aggregate_cells(customers).rename(columns={"T": "t"})
    keys = zip(cells["frequency"], cells["recency"], cells["t"], strict=True)
    cells.insert(0, "cell_id", [f"{f}-{r:g}-{t:g}" for f, r, t in keys])
    return cells


def repeat_spend(customers: pd.DataFrame) -> pd.DataFrame:
    return customers.loc[customers["frequency"] > 0, ["frequency", "monetary_value"]]


def cdnow_customers(end: date) -> pd.DataFrame:
    """CDNOW master summarised at ``end`` in days: purchase days, repeat mean value."""
    epoch = date(1970, 1, 1)
    lines = read_cdnow(cdnow_path("master"), "master")
    end_day = (end - epoch).days
    orders = pd.DataFrame({"c": lines.customer_id, "day": lines.day, "v": lines.cents / 100})
    days = orders[orders["day"] <= end_day].groupby(["c", "day"], as_index=False)["v"].sum()
    first = days.groupby("c")["day"].transform("min")
    grouped = days.assign(first=first, repeat=days["day"] > first).groupby("c")
    customers = pd.DataFrame(
        {
            "frequency": grouped["repeat"].sum(),
            "recency": (grouped["day"].max() - grouped["first"].min()).astype(float),
            "T": (end_day - grouped["first"].min()).astype(float),
        }
    )
    repeat_value = days[days["day"] > first].groupby("c")["v"].mean()
    customers["monetary_value"] = repeat_value.reindex(customers.index)
    return customers


def run(label: str, calibration: pd.DataFrame, now: pd.DataFrame, settings: ClvSettings) -> None:
    calibration_cells, current_cells = cells_of(calibration), cells_of(now)
    print(
        f"\n{label}: calibration {len(calibration):,} customers in {len(calibration_cells):,} "
        f"cells, now {len(now):,} in {len(current_cells):,} cells ({load_average()})"
    )
    started = time.perf_counter()
    backtest = fit_backtest(calibration_cells, repeat_spend(calibration), READY, settings)
    backtest_seconds = time.perf_counter() - started
    fit_seconds = backtest[backtest["metric"] == "fit_seconds"].set_index("model_name")["value"]
    print(
        f"  fit_backtest {backtest_seconds:6.2f} s  ("
        + ", ".join(f"{model} {seconds:.2f} s" for model, seconds in fit_seconds.items())
        + ")"
    )
    started = time.perf_counter()
    scored = score_cells_from_fit(calibration_cells, backtest)
    scoring_seconds = time.perf_counter() - started
    print(f"  score the candidates {scoring_seconds:6.2f} s  ({len(scored):,} rows)")
    for model in MODEL_NAMES:
        chosen = pd.DataFrame({"model_name": [model], "choice_reason": ["benchmark"]})
        started = time.perf_counter()
        fit = fit_clv(current_cells, repeat_spend(now), READY, settings, chosen)
        fitting = time.perf_counter() - started
        started = time.perf_counter()
        score_cells_from_fit(current_cells, fit)
        scoring = time.perf_counter() - started
        whole = backtest_seconds + scoring_seconds + fitting + scoring
        print(
            f"  chosen {model:<10}: fit_clv {fitting:5.2f} s, score {scoring:5.2f} s"
            f"  -> whole CLV step {whole:6.2f} s  ({load_average()})"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000, help="customers to simulate")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--skip-cdnow", action="store_true", help="only the simulated shop")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}, {load_average()}")
    if not args.skip_cdnow:
        run(
            "CDNOW master, days",
            cdnow_customers(date(1997, 9, 30)),
            cdnow_customers(date(1998, 6, 30)),
            ClvSettings(backtest_days=273),
        )
    started = time.perf_counter()
    calibration = simulate_daily_customers(args.customers, args.seed)
    now = simulate_daily_customers(args.customers, args.seed + 1)
    for customers in (calibration, now):
        customers["monetary_value"] = np.where(
            customers["frequency"] > 0, customers["monetary_value"], np.nan
        )
    print(f"\n(simulating 2 x {args.customers:,} customers: {time.perf_counter() - started:.1f} s)")
    run(f"{args.customers:,} simulated customers, days", calibration, now, ClvSettings())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

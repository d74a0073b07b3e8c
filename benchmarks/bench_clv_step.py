"""Benchmark the CLV step on cells against lifetimes' one-row-per-customer way.

Builds N synthetic customers (default 1,000,000) in daily units from an exact BG/NBD simulation
whose purchases are rounded to calendar days as the SQL does (several purchases on one day are
one occasion), plus Gamma-Gamma spend, or reads cells from a parquet file (--cells: columns
frequency, recency, T, n_customers). Then times, printing the median of --repeats runs where a
step is cheap and a single run where it is not:

  aggregation to cells (pandas and DuckDB), BG/NBD fit on all cells, on a sample of customers,
  and one row per customer (lifetimes' usual way, with the largest relative parameter gap to
  the cell fit), scoring every cell, Gamma-Gamma on repeat customers (all and sampled),
  expected order value, predicted CLV (the product the SQL computes); and lifetimes'
  customer_lifetime_value on the per-customer frame for comparison.

Run:  PYTHONPATH=src python benchmarks/bench_clv_step.py [--customers N] [--skip-slow]
This is a benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from clv_segments.clv.bgnbd import fit_bgnbd, score_cells
from clv_segments.clv.gamma_gamma import expected_average_order_value, fit_gamma_gamma
from clv_segments.clv.scoring import discount_factor

TRUTH = {"r": 0.243, "alpha": 4.414 * 7, "a": 0.793, "b": 2.426}  # CDNOW's, per day
SPEND = {"p": 6.25, "q": 3.74, "v": 15.44}
HISTORY_DAYS = 1500
PREDICTION_DAYS = 365
CHURN_HORIZON_DAYS = 90


def progress(message: str) -> None:
    print(f"  .. {message}", file=sys.stderr, flush=True)


def simulate_daily_customers(n: int, seed: int) -> pd.DataFrame:
    """frequency, recency, T in whole days and mean repeat spend, one row per customer.

    Continuous-time BG/NBD as in `clv_segments.clv.bgnbd.simulate_bgnbd`, then each customer's
    first purchase gets a time of day u0 and a first-purchase day T days before as_of_date;
    purchase times are taken to calendar days, repeat occasions are distinct days after the
    first, recency is the last such day. The first x of N uniform points on (0, T] are
    T * S_k / (S_x + G) with S_k sums of exponentials and G ~ Gamma(N - x + 1), so only x
    draws per customer are needed.
    """
    rng = np.random.default_rng(seed)
    age_days = rng.integers(0, HISTORY_DAYS, n)  # days_ago(first purchase), 0 = as_of_date
    time_of_day = rng.random(n)
    observed = age_days + 1.0 - time_of_day  # continuous time until the end of as_of_date
    rate = rng.gamma(TRUTH["r"], 1.0 / TRUTH["alpha"], n)
    dropout = np.maximum(rng.beta(TRUTH["a"], TRUTH["b"], n), np.finfo(float).tiny)
    n_events = rng.poisson(rate * observed)
    purchases = np.minimum(n_events, rng.geometric(dropout))

    owner = np.repeat(np.arange(n), purchases)
    cumulative = np.cumsum(rng.exponential(size=owner.size))
    ends = np.cumsum(purchases)
    starts = ends - purchases
    before = np.where(starts > 0, cumulative[np.maximum(starts - 1, 0)], 0.0)
    partial = cumulative - np.repeat(before, purchases)  # S_1..S_x within each customer
    last_sum = np.where(purchases > 0, partial[np.maximum(ends - 1, 0)], 0.0)
    total = last_sum + rng.gamma(n_events - purchases + 1.0)
    times = observed[owner] * partial / total[owner]
    day = np.floor(time_of_day[owner] + times).astype(np.int64)
    day = np.minimum(day, age_days[owner])

    repeat_day = day > 0  # purchases on the first purchase's day merge with it
    keys = np.unique(owner[repeat_day] * (HISTORY_DAYS + 1) + day[repeat_day])
    frequency = np.bincount(keys // (HISTORY_DAYS + 1), minlength=n)
    recency = np.zeros(n)
    np.maximum.at(recency, keys // (HISTORY_DAYS + 1), keys % (HISTORY_DAYS + 1))

    spend_rate = rng.gamma(SPEND["q"], 1.0 / SPEND["v"], n)
    monetary = np.where(
        frequency > 0,
        rng.gamma(SPEND["p"] * np.maximum(frequency, 1)) / (spend_rate * np.maximum(frequency, 1)),
        0.0,
    )
    return pd.DataFrame(
        {
            "customer_id": np.arange(n),
            "frequency": frequency,
            "recency": recency,
            "T": age_days.astype(float),
            "monetary_value": monetary,
        }
    )


def customers_from_cells(path: str, seed: int) -> pd.DataFrame:
    """Expand a cell parquet to customers, with simulated Gamma-Gamma spend."""
    cells = pd.read_parquet(path)
    cells.columns = [column.lower() for column in cells.columns]
    counts = cells["n_customers"].to_numpy()
    customers = pd.DataFrame(
        {
            "frequency": np.repeat(cells["frequency"].to_numpy(), counts),
            "recency": np.repeat(cells["recency"].to_numpy(), counts),
            "T": np.repeat(cells["t"].to_numpy(), counts),
        }
    )
    rng = np.random.default_rng(seed)
    x = np.maximum(customers["frequency"].to_numpy(), 1)
    spend_rate = rng.gamma(SPEND["q"], 1.0 / SPEND["v"], len(customers))
    customers["monetary_value"] = np.where(
        customers["frequency"] > 0, rng.gamma(SPEND["p"] * x) / (spend_rate * x), 0.0
    )
    customers.insert(0, "customer_id", np.arange(len(customers)))
    return customers


def timed(step: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Median wall time over ``repeats`` runs, and the last result."""
    seconds, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = step()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Time the CLV step (BG/NBD + Gamma-Gamma on cells) against lifetimes' "
        "per-customer way on synthetic daily data."
    )
    parser.add_argument("--customers", type=int, default=1_000_000, help="customers to simulate")
    parser.add_argument("--cells", help="parquet of cells (frequency, recency, T, n_customers)")
    parser.add_argument("--sample-size", type=int, default=200_000, help="clv_fit_sample_size")
    parser.add_argument("--repeats", type=int, default=3, help="repeats of the cheap steps")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--skip-slow", action="store_true", help="skip the per-customer lifetimes runs"
    )
    args = parser.parse_args(argv)
    rows: list[tuple[str, float, str]] = []

    def report(step: str, seconds: float, note: str = "") -> None:
        rows.append((step, seconds, note))
        progress(f"{step}: {seconds:.3f} s {note}")

    progress("warming up (imports, first autograd trace)")
    warm_up = pd.DataFrame({"frequency": [0, 1, 2], "recency": [0.0, 5, 9], "T": [10.0, 10, 10]})
    fit_bgnbd(warm_up.assign(n_customers=[50, 30, 20]))
    fit_gamma_gamma([1, 2, 3, 1], [10.0, 12.0, 9.0, 14.0])

    progress("building customers")
    started = time.perf_counter()
    if args.cells:
        customers = customers_from_cells(args.cells, args.seed)
    else:
        customers = simulate_daily_customers(args.customers, args.seed)
    n = len(customers)
    repeat_share = float((customers["frequency"] > 0).mean())
    report("simulate customers (not part of the step)", time.perf_counter() - started)

    seconds, cells = timed(
        lambda: (
            customers.groupby(["frequency", "recency", "T"], sort=False, as_index=False)
            .size()
            .rename(columns={"size": "n_customers"})
        ),
        args.repeats,
    )
    report("aggregate to cells, pandas", seconds, f"{len(cells):,} cells = {len(cells) / n:.0%}")
    try:
        import duckdb

        connection = duckdb.connect()
        connection.register("customers", customers)
        seconds, _ = timed(
            lambda: connection.sql(
                "select frequency, recency, T, count(*) as n_customers from customers group by all"
            ).df(),
            args.repeats,
        )
        report("aggregate to cells, DuckDB", seconds)
    except ImportError:  # pragma: no cover - duckdb is a project dependency
        pass

    seconds, full_fit = timed(lambda: fit_bgnbd(cells), 1)
    report("BG/NBD fit, all cells", seconds, f"{full_fit.n_cells:,} cells")
    seconds, sample_fit = timed(
        lambda: fit_bgnbd(cells, sample_size=args.sample_size, seed=args.seed), args.repeats
    )
    report(
        f"BG/NBD fit, {args.sample_size:,}-customer sample",
        seconds,
        f"{sample_fit.n_cells_fitted:,} cells",
    )
    gaps = {
        name: abs(sample_fit.params[name] / full_fit.params[name] - 1) for name in full_fit.params
    }
    within = {
        name: abs(sample_fit.params[name] - full_fit.params[name])
        / sample_fit.standard_errors[name]
        for name in full_fit.params
    }

    per_customer_params = None
    if not args.skip_slow:
        from lifetimes import BetaGeoFitter

        progress("BG/NBD fit, one row per customer (lifetimes' usual way)")
        started = time.perf_counter()
        per_customer = BetaGeoFitter().fit(
            customers["frequency"], customers["recency"], customers["T"]
        )
        per_customer_params = per_customer.params_
        gap = max(abs(per_customer_params[k] / full_fit.params[k] - 1) for k in full_fit.params)
        report(
            "BG/NBD fit, one row per customer (lifetimes)",
            time.perf_counter() - started,
            f"max rel. param gap to cell fit {gap:.1e}",
        )

    seconds, scored = timed(
        lambda: score_cells(cells, sample_fit, PREDICTION_DAYS, CHURN_HORIZON_DAYS), args.repeats
    )
    report("score all cells (purchases, P(alive), churn)", seconds)

    repeat = customers[customers["frequency"] > 0]
    seconds, spend_full = timed(
        lambda: fit_gamma_gamma(repeat["frequency"], repeat["monetary_value"]), 1
    )
    report("Gamma-Gamma fit, all repeat customers", seconds, f"{len(repeat):,} customers")
    seconds, spend_fit = timed(
        lambda: fit_gamma_gamma(
            repeat["frequency"],
            repeat["monetary_value"],
            sample_size=args.sample_size,
            seed=args.seed,
        ),
        args.repeats,
    )
    report(f"Gamma-Gamma fit, {args.sample_size:,}-customer sample", seconds)

    # Customer-level columns the SQL join would bring back: cell predictions per customer.
    joined = customers.merge(
        scored[["frequency", "recency", "T", "expected_purchases", "churn_probability"]],
        on=["frequency", "recency", "T"],
        how="left",
    )
    seconds, aov = timed(
        lambda: expected_average_order_value(
            joined["frequency"], joined["monetary_value"], spend_fit
        ),
        args.repeats,
    )
    report("expected average order value, per customer", seconds)
    # int_customers_predicted computes this product in SQL; timed here for the step's total
    seconds, clv = timed(lambda: joined["expected_purchases"].to_numpy() * aov, args.repeats)
    report("predicted CLV, per customer", seconds)

    step_total = sum(
        seconds
        for step, seconds, _ in rows
        if step.startswith(
            (
                "BG/NBD fit, " + f"{args.sample_size:,}",
                "score all cells",
                "Gamma-Gamma fit, " + f"{args.sample_size:,}",
                "expected average",
                "predicted CLV",
            )
        )
    )

    if not args.skip_slow:
        from lifetimes import BetaGeoFitter, GammaGammaFitter

        progress("lifetimes customer_lifetime_value, one row per customer")
        model = BetaGeoFitter()
        model.params_ = pd.Series(sample_fit.params)
        model.predict = model.conditional_expected_number_of_purchases_up_to_time
        spend_model = GammaGammaFitter()
        spend_model.params_ = pd.Series(spend_fit.params)
        started = time.perf_counter()
        with np.errstate(all="ignore"):
            reference = spend_model.customer_lifetime_value(
                model,
                customers["frequency"],
                customers["recency"],
                customers["T"],
                customers["monetary_value"],
                time=12,
                discount_rate=0.01,
                freq="D",
            )
        seconds = time.perf_counter() - started
        over_360_days = score_cells(
            customers[["frequency", "recency", "T"]], sample_fit, 360, CHURN_HORIZON_DAYS
        )
        ours = (
            over_360_days["expected_purchases"].to_numpy()
            * expected_average_order_value(
                customers["frequency"], customers["monetary_value"], spend_fit
            )
            * discount_factor(0.01, 360)
        )
        total_gap = ours.sum() / reference.to_numpy().sum() - 1
        report(
            "lifetimes customer_lifetime_value (12 months, 1 %)",
            seconds,
            f"ours (360 days, 1 %, spread evenly) differs by {total_gap:+.2%} in total",
        )

    print(f"\nCLV step benchmark: {n:,} customers, {len(cells):,} cells, daily units")
    print(f"repeat customers: {repeat_share:.1%}; median of {args.repeats} runs where cheap\n")
    width = max(len(step) for step, _, _ in rows)
    for step, seconds, note in rows:
        print(f"{step:<{width}}  {seconds:8.3f} s  {note}")
    print(
        f"\nwhole CLV step (sampled BG/NBD fit + scoring + sampled Gamma-Gamma fit + AOV + "
        f"CLV): {step_total:.2f} s"
    )
    print("\nBG/NBD parameters (alpha per day)")
    print(f"  truth              {TRUTH}")
    print(f"  cells, all         { {k: round(v, 4) for k, v in full_fit.params.items()} }")
    print(f"  cells, sample      { {k: round(v, 4) for k, v in sample_fit.params.items()} }")
    print(
        f"  sample vs all      rel. gap {max(gaps.values()):.2%}, max {max(within.values()):.2f} SE"
    )
    if per_customer_params is not None:
        print(f"  per customer       { {k: round(v, 4) for k, v in per_customer_params.items()} }")
    print(
        f"  alpha vs truth     {full_fit.alpha / TRUTH['alpha'] - 1:+.1%} (times rounded to days)"
    )
    print("Gamma-Gamma parameters")
    print(f"  truth              {SPEND}")
    print(f"  all repeat         { {k: round(v, 3) for k, v in spend_full.params.items()} }")
    print(f"  sample             { {k: round(v, 3) for k, v in spend_fit.params.items()} }")
    print(f"predicted CLV: mean {float(np.mean(clv)):.2f}, total {float(np.sum(clv)):,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

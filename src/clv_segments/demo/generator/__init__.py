"""Synthetic shop data for the demo: the six raw tables of the input contract, from a known truth.

``generate()`` writes ``customers``, ``orders``, ``refunds``, ``events``, ``list_memberships`` and
``suppressions`` (see ``rawfiles.RAW_TABLES``) plus ``true_parameters.json`` into one folder.

The truth
=========
Purchases follow a true BG/NBD process, time unit one day (``TRUE_BGNBD``):

- each buyer has a purchase rate ``lambda ~ Gamma(shape r, rate alpha)`` per day and a dropout
  probability ``p ~ Beta(a, b)``;
- the first purchase happens at a time uniform over the history window (acquisition is spread
  over it), then purchases follow a Poisson process of rate ``lambda`` while the customer is
  alive; after each *repeat* purchase the customer drops out for good with probability ``p``;
- nothing is generated after the end of ``as_of_date`` (UTC), the end of the history window.

Spend follows a true Gamma-Gamma model (``TRUE_GAMMA_GAMMA``): each buyer has
``nu ~ Gamma(shape q, rate v)`` and every purchase has an EUR value ``z ~ Gamma(shape p, rate nu)``.

How the rows relate to the truth
================================
- Every BG/NBD purchase, the first one included, is exactly one row of ``orders`` with status
  ``placed``, a positive amount and no full refund. Conversely, all other order rows are *extra*
  noise rows on top of the process: cancelled orders (about 3 % of the process's orders),
  fully refunded orders (about 2 %, a refund row or two summing to the whole amount) and
  zero-value orders (about 0.5 %), plus cancelled orders of a few non-buyers. Excluding the
  orders that do not count (DESIGN.md, "Orders that count") therefore recovers the process.
- ``amount`` is the purchase's EUR value converted to the customer's currency and rounded to
  cents: ``amount = round(z / fx_rate, 2)`` with ``fx_rate`` = EUR per 1 unit of the currency
  (``FX_RATES``), so ``amount * fx_rate`` is the true value ``z`` in EUR up to rounding (at least
  one cent). The Gamma-Gamma value is the amount *before* refunds.
- Partial refunds are the one change to true values: about 3 % of the process's orders get one
  refund of 10-50 % of their amount (dropped if it would fall after as_of_date), which lowers
  their net value. Counts are in ``true_parameters.json`` under ``partial_refunds``.
- Channel (``pos`` about 10 %) and ``is_subscription`` (about 5 %) are drawn per order
  independently of the process, so the ``include_pos_orders`` / ``include_subscription_orders``
  switches thin the process at random when turned off.
- Several purchases of a customer may fall on one calendar day; a fit on purchase days counts
  them as one occasion (about 4 % of the process's orders at the default parameters), which
  biases a day-based fit slightly (alpha comes out about 10 % high).

Engagement is simulated around that: a ``newsletter`` list with weekly campaigns (deliveries,
human and machine opens, clicks, unsubscribes, spam complaints, bounces, with the matching
memberships and suppressions), browsing sessions (``site_active``, ``product_viewed``,
``cart_added``, ``checkout_started``) that are more frequent for engaged customers, a session
before most online orders, and an engagement that fades for customers who lose interest.

Bad rows (``dirty_fraction``) are appended at the end of the files, counted per table and kind
in ``true_parameters.json`` under ``injected_bad_rows``; they are chosen so that whatever staging
does with them, the process above is unchanged (conflicting keys and over-refunds target
cancelled noise orders).

Everything is vectorised with numpy, customers are simulated in blocks of ``BLOCK_SIZE`` with
one random stream per block, and the big tables are written block by block: memory is bounded by
the block size, and the same seed gives byte-identical files.

Layout: ``truth`` (the parameters and ``ShopSettings``), ``common`` (ids, clock, a block's
context), one module per entity (``customers``, ``orders``, ``events``), ``bad_rows``, and here
the block loop and ``generate``.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

from clv_segments.demo.generator.bad_rows import inject_bad_rows
from clv_segments.demo.generator.common import Block, Clock, Context
from clv_segments.demo.generator.customers import simulate_customers
from clv_segments.demo.generator.events import (
    EventLog,
    simulate_browsing,
    simulate_email,
    simulate_order_sessions,
)
from clv_segments.demo.generator.orders import simulate_orders, simulate_purchases
from clv_segments.demo.generator.truth import (
    BLOCK_SIZE,
    FX_RATES,
    MAX_CUSTOMERS,
    NEWSLETTER_LIST_ID,
    REPORTING_CURRENCY,
    TRUE_BGNBD,
    TRUE_GAMMA_GAMMA,
    BgNbdParameters,
    GammaGammaParameters,
    GenerationSummary,
    ProgressFn,
    ShopSettings,
)
from clv_segments.demo.rawfiles import (
    FILE_FORMATS,
    RAW_TABLES,
    TableWriter,
)

__all__ = [
    "FX_RATES",
    "TRUE_BGNBD",
    "TRUE_GAMMA_GAMMA",
    "BgNbdParameters",
    "GammaGammaParameters",
    "GenerationSummary",
    "ShopSettings",
    "generate",
]


def _simulate_block(
    ctx: Context,
    first_index: int,
    n: int,
    bgnbd: BgNbdParameters,
    gg: GammaGammaParameters,
    campaign_t: np.ndarray,
    campaign_ids: pa.Array,
) -> Block:
    """All six tables for customers ``first_index`` .. ``first_index + n - 1``."""
    customers = simulate_customers(ctx, first_index, n)
    purchases = simulate_purchases(ctx, customers, bgnbd, gg)
    orders, refunds, order_kind, order_arrays = simulate_orders(ctx, customers, purchases, gg)
    # interest fades after a while, but not while a buyer is alive (plus a tail after dropout)
    interest_end = customers.created + ctx.rng.exponential(ctx.settings.interest_days, n)
    buyer_interest = purchases.alive_until + ctx.rng.exponential(
        ctx.settings.interest_after_dropout_days, len(purchases.buyers)
    )
    interest_end[purchases.buyers] = np.maximum(interest_end[purchases.buyers], buyer_interest)
    log = EventLog()
    memberships, suppressions = simulate_email(ctx, customers, interest_end, campaign_t, log)
    simulate_browsing(ctx, customers, interest_end, log)
    simulate_order_sessions(ctx, order_arrays, log)
    return Block(
        tables={
            "customers": customers.table,
            "orders": orders,
            "refunds": refunds,
            "events": log.to_table(ctx, customers.ids, campaign_ids),
            "list_memberships": memberships,
            "suppressions": suppressions,
        },
        order_kind=order_kind,
        stats=ctx.stats,
    )


# --- the public entry point -------------------------------------------------------------------


def _validate(
    n_customers: int, years: float, fmt: str, dirty_fraction: float, out_dir: str | Path
) -> None:
    if not 1 <= n_customers <= MAX_CUSTOMERS:
        raise ValueError(f"n_customers (--customers) must be 1..{MAX_CUSTOMERS:,}: {n_customers}")
    if not 0.5 <= years <= 20:
        raise ValueError(f"years (--years) must be between 0.5 and 20: {years}")
    if fmt not in FILE_FORMATS:
        raise ValueError(f"fmt (--format) must be one of {', '.join(FILE_FORMATS)}: {fmt!r}")
    if not 0.0 <= dirty_fraction <= 0.05:
        raise ValueError(f"dirty_fraction (--dirty-fraction) must be 0..0.05: {dirty_fraction}")
    if Path(out_dir).exists() and not Path(out_dir).is_dir():
        raise ValueError(f"out_dir (--out) {out_dir} exists and is not a folder")


def _as_date(value: date | str | None) -> date:
    if value is None:
        return datetime.now(UTC).date()
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"as_of_date (--as-of-date) must be YYYY-MM-DD: {value!r}") from None


def generate(
    n_customers: int = 50_000,
    as_of_date: date | str | None = None,
    years: float = 3.0,
    seed: int = 42,
    out_dir: str | Path = "data/raw",
    fmt: str = "parquet",
    dirty_fraction: float = 0.0005,
    *,
    settings: ShopSettings | None = None,
    bgnbd: BgNbdParameters = TRUE_BGNBD,
    gamma_gamma: GammaGammaParameters = TRUE_GAMMA_GAMMA,
    progress: ProgressFn | None = None,
) -> GenerationSummary:
    """Write a synthetic shop's raw tables and ``true_parameters.json`` into ``out_dir``.

    ``as_of_date`` (default: today, UTC) is the last day of the ``years``-long history window;
    no row is dated after it except the injected ``after_as_of_date`` bad rows. The same
    arguments give byte-identical files. See the module docstring for how rows relate to the
    true parameters.
    """
    started = time.perf_counter()
    _validate(n_customers, years, fmt, dirty_fraction, out_dir)
    settings = settings or ShopSettings()
    as_of = _as_date(as_of_date)
    clock = Clock(as_of, years)
    campaign_t = clock.campaign_times(settings)
    campaign_ids = clock.campaign_ids(campaign_t)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    say = progress or (lambda message: None)
    for other in sorted(set(FILE_FORMATS) - {fmt}):
        stale = [name for name in RAW_TABLES if (out / f"{name}.{other}").exists()]
        if stale:
            say(f"warning: {out} still holds {other} files of an earlier run: {', '.join(stale)}")

    counters = {"order": 0, "refund": 0, "event": 0}
    stats: dict[str, int] = {}
    n_blocks = math.ceil(n_customers / BLOCK_SIZE)
    sample: Block | None = None
    writers = {name: TableWriter(out, name, fmt) for name in RAW_TABLES}
    try:
        for block in range(n_blocks):
            block_started = time.perf_counter()
            first = block * BLOCK_SIZE
            size = min(BLOCK_SIZE, n_customers - first)
            ctx = Context(
                rng=np.random.default_rng(np.random.SeedSequence([seed, block])),
                clock=clock,
                settings=settings,
                counters=counters,
                stats={},
            )
            result = _simulate_block(ctx, first, size, bgnbd, gamma_gamma, campaign_t, campaign_ids)
            for name, table in result.tables.items():
                writers[name].write(table)
            for key, value in result.stats.items():
                stats[key] = stats.get(key, 0) + value
            if sample is None:
                sample = result
            say(
                f"block {block + 1}/{n_blocks}: customers {first + 1:,}-{first + size:,}, "
                f"{result.tables['orders'].num_rows:,} orders, "
                f"{result.tables['events'].num_rows:,} events "
                f"({time.perf_counter() - block_started:.1f} s)"
            )
        injected: dict[str, dict[str, int]] = {}
        if dirty_fraction > 0 and sample is not None:
            totals = {name: writer.rows for name, writer in writers.items()}
            rng = np.random.default_rng(np.random.SeedSequence([seed, n_blocks, 1]))
            bad_tables, injected = inject_bad_rows(
                rng, sample, totals, dirty_fraction, clock, counters
            )
            for name, table in bad_tables.items():
                writers[name].write(table)
            n_bad = sum(sum(kinds.values()) for kinds in injected.values())
            say(f"injected {n_bad:,} bad rows")
    finally:
        for writer in writers.values():
            writer.close()
    rows = {name: writer.rows for name, writer in writers.items()}
    for name, writer in writers.items():
        say(f"wrote {writer.path} ({rows[name]:,} rows)")

    truth = {
        "bgnbd": asdict(bgnbd),
        "gamma_gamma": asdict(gamma_gamma),
        "time_unit": "day",
        "as_of_date": as_of.isoformat(),
        "history_start": clock.start.date().isoformat(),
        "history_days": clock.window_days,
        "years": years,
        "seed": seed,
        "n_customers": n_customers,
        "rows": rows,
        "reporting_currency": REPORTING_CURRENCY,
        "fx_rates_used": dict(FX_RATES),
        "fx_rate_meaning": "1 unit of currency = rate EUR; amount = round(eur_value / rate, 2)",
        "process": {
            "buyers": stats["buyers"],
            "repeat_buyers": stats["repeat_buyers"],
            "orders": stats["process_orders"],
            "note": (
                "process orders = the placed, positive, not fully refunded orders (dirty rows "
                "excluded); their pre-refund EUR value is the Gamma-Gamma draw"
            ),
        },
        "noise_orders": {
            "cancelled": stats["cancelled_orders"],
            "fully_refunded": stats["fully_refunded_orders"],
            "zero_value": stats["zero_value_orders"],
        },
        "partial_refunds": {
            "orders": stats["partial_refunds"],
            "share_of_process_orders": settings.partial_refund_share,
            "refund_fraction_range": list(settings.partial_refund_range),
        },
        "fitting_notes": [
            "BG/NBD: purchases are continuous-time; a fit on purchase days merges same-day "
            "purchases into one occasion (about 4 % of process orders at the default "
            "parameters), so alpha comes out about 10 % high on days",
            "Gamma-Gamma: average net order values over the same purchases that frequency "
            "counts (lifetimes: repeat purchases only), else p is biased upwards",
        ],
        "newsletter_list_id": NEWSLETTER_LIST_ID,
        "campaigns": len(campaign_t),
        "email_deliveries": stats["email_deliveries"],
        "dirty_fraction": dirty_fraction,
        "injected_bad_rows": injected,
        "settings": asdict(settings),
    }
    truth_path = out / "true_parameters.json"
    truth_path.write_text(json.dumps(truth, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return GenerationSummary(
        out_dir=out,
        fmt=fmt,
        rows=rows,
        seconds=time.perf_counter() - started,
        true_parameters_path=truth_path,
        stats={k: float(v) for k, v in stats.items()},
    )

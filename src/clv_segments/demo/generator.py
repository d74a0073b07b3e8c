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
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from clv_segments.demo.rawfiles import (
    EVENT_TYPES,
    FILE_FORMATS,
    RAW_TABLES,
    TableWriter,
    arrow_schema,
    money_from_cents,
    timestamps_from_micros,
)

REPORTING_CURRENCY = "EUR"
NEWSLETTER_LIST_ID = "newsletter"
BLOCK_SIZE = 100_000
MAX_CUSTOMERS = 99_999_999

DAY_US = 86_400_000_000
MINUTE = 1.0 / 1440.0
HOUR = 1.0 / 24.0

ProgressFn = Callable[[str], None]


@dataclass(frozen=True)
class BgNbdParameters:
    """BG/NBD parameters, time unit one day: lambda ~ Gamma(r, rate alpha), p ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class GammaGammaParameters:
    """Gamma-Gamma parameters: nu ~ Gamma(q, rate v), order value ~ Gamma(p, rate nu), in EUR."""

    p: float
    q: float
    v: float


TRUE_BGNBD = BgNbdParameters(r=0.22, alpha=9.0, a=0.5, b=10.0)
TRUE_GAMMA_GAMMA = GammaGammaParameters(p=6.0, q=3.8, v=35.0)  # mean spend 6*35/2.8 = 75 EUR

# 1 unit of the currency = rate EUR; must match the project's fx_rates seed.
FX_RATES: dict[str, float] = {"EUR": 1.0, "USD": 0.92, "GBP": 1.17, "CHF": 1.05}

# (country_code, currency, share of customers, ((region, city, weight within country), ...))
GEOGRAPHY: tuple[tuple[str, str, float, tuple[tuple[str, str, float], ...]], ...] = (
    (
        "DE",
        "EUR",
        0.30,
        (
            ("Bayern", "München", 0.3),
            ("Berlin", "Berlin", 0.3),
            ("Hamburg", "Hamburg", 0.2),
            ("Nordrhein-Westfalen", "Köln", 0.2),
        ),
    ),
    (
        "FR",
        "EUR",
        0.20,
        (
            ("Île-de-France", "Paris", 0.5),
            ("Auvergne-Rhône-Alpes", "Lyon", 0.3),
            ("Provence-Alpes-Côte d'Azur", "Marseille", 0.2),
        ),
    ),
    ("NL", "EUR", 0.10, (("Noord-Holland", "Amsterdam", 0.6), ("Zuid-Holland", "Rotterdam", 0.4))),
    ("BE", "EUR", 0.06, (("Brussels", "Brussels", 0.5), ("Flanders", "Antwerp", 0.5))),
    ("IT", "EUR", 0.07, (("Lombardia", "Milano", 0.5), ("Lazio", "Roma", 0.5))),
    ("ES", "EUR", 0.06, (("Madrid", "Madrid", 0.5), ("Catalonia", "Barcelona", 0.5))),
    ("AT", "EUR", 0.03, (("Wien", "Wien", 1.0),)),
    (
        "US",
        "USD",
        0.08,
        (
            ("California", "Los Angeles", 0.4),
            ("New York", "New York", 0.4),
            ("Texas", "Austin", 0.2),
        ),
    ),
    ("GB", "GBP", 0.06, (("England", "London", 0.7), ("Scotland", "Edinburgh", 0.3))),
    ("CH", "CHF", 0.04, (("Zürich", "Zürich", 0.6), ("Geneva", "Geneva", 0.4))),
)


@dataclass(frozen=True)
class ShopSettings:
    """Behaviour of the simulated shop around the true process (shares are probabilities)."""

    buyer_share: float = 0.75  # the rest never place an order of the process
    signup_before_purchase_share: float = 0.4  # account created days before the first order
    signup_lead_days: float = 20.0
    missing_email_share: float = 0.05
    missing_region_share: float = 0.03
    newsletter_share: float = 0.4  # of customers with an email
    subscribe_later_share: float = 0.3
    subscribe_delay_days: float = 45.0
    accepts_marketing_without_list_share: float = 0.05
    # noise orders, per order of the process
    cancelled_share: float = 0.03
    full_refund_share: float = 0.02
    zero_value_share: float = 0.005
    non_buyer_cancelled_share: float = 0.02
    split_full_refund_share: float = 0.2
    partial_refund_share: float = 0.03
    partial_refund_range: tuple[float, float] = (0.1, 0.5)
    refund_delay_days: float = 7.0
    pos_share: float = 0.10
    subscription_share: float = 0.05
    # email
    campaign_weekday: int = 1  # Tuesday
    campaign_hour: float = 9.0
    bad_email_share: float = 0.02  # hard bounce at the first delivery
    unsubscribe_hazard: float = 0.004  # per delivery
    spam_hazard: float = 0.0001  # per delivery
    manual_suppression_share: float = 0.004
    list_leave_share: float = 0.03  # leave the list without a global unsubscribe
    human_open_rate: float = 0.6  # times the customer's engagement, while interested
    faded_open_rate: float = 0.01  # times the engagement, after interest faded
    apple_mail_share: float = 0.10
    machine_open_rate: float = 0.85
    click_rate_base: float = 0.08  # per human open, plus click_rate_engaged * engagement
    click_rate_engaged: float = 0.25
    click_session_share: float = 0.6
    # browsing
    engagement_beta: tuple[float, float] = (1.5, 3.0)
    interest_days: float = 365.0  # mean time until a customer's interest fades
    interest_after_dropout_days: float = 60.0
    browse_rate: float = 0.018  # sessions per day, times the engagement
    session_view_share: float = 0.75
    session_cart_share: float = 0.12
    session_checkout_share: float = 0.35  # of carts
    # the session before an online order: shares of orders with each event
    order_session_active_share: float = 0.6
    order_session_view_share: float = 0.5
    order_session_cart_share: float = 0.7
    order_session_checkout_share: float = 0.95


@dataclass
class GenerationSummary:
    """What ``generate`` wrote: rows per table, the truth file, seconds taken."""

    out_dir: Path
    fmt: str
    rows: dict[str, int]
    seconds: float
    true_parameters_path: Path
    stats: dict[str, float] = field(default_factory=dict)


# --- small vectorised helpers -----------------------------------------------------------------


def _within_segment_index(counts: np.ndarray) -> np.ndarray:
    """For segments of the given sizes laid end to end: the position of each element in its own."""
    counts = counts.astype(np.int64)
    starts = np.cumsum(counts) - counts
    return np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(starts, counts)


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """``prefix`` + zero-padded number, built in Arrow (fast for tens of millions of ids)."""
    digits = pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string())
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(digits, width, "0"), "")


def _customer_ids(global_index: np.ndarray) -> pa.Array:
    return _ids("C", global_index + 1, 8)


class _Clock:
    """Simulation time is float days since the window start; files get UTC microseconds."""

    def __init__(self, as_of_date: date, years: float) -> None:
        self.as_of_date = as_of_date
        self.window_days = int(round(years * 365.25))
        end = datetime(as_of_date.year, as_of_date.month, as_of_date.day, tzinfo=UTC)
        end += timedelta(days=1)  # the whole as_of_date is inside the window
        self.end_us = int(end.timestamp()) * 1_000_000
        self.start_us = self.end_us - self.window_days * DAY_US
        self.start = end - timedelta(days=self.window_days)

    def micros(self, t: np.ndarray) -> np.ndarray:
        us = self.start_us + np.floor(np.asarray(t, dtype=np.float64) * DAY_US).astype(np.int64)
        return us

    def campaign_times(self, settings: ShopSettings) -> np.ndarray:
        first = (settings.campaign_weekday - self.start.weekday()) % 7
        days = np.arange(first, self.window_days, 7, dtype=np.float64)
        return days + settings.campaign_hour / 24.0

    def campaign_ids(self, times: np.ndarray) -> pa.Array:
        labels = [
            "cmp_" + (self.start + timedelta(days=float(t))).strftime("%Y%m%d") for t in times
        ]
        return pa.array(labels, type=pa.string())


# --- one block of customers ---------------------------------------------------------------

ORDER_PROCESS, ORDER_CANCELLED, ORDER_FULL_REFUND, ORDER_ZERO = 0, 1, 2, 3
EVENT_CODE = {name: i for i, name in enumerate(EVENT_TYPES)}
CURRENCIES = list(FX_RATES)


@dataclass
class _Block:
    """Arrow tables of one block, plus what the dirty-row injection needs to know."""

    tables: dict[str, pa.Table]
    order_kind: np.ndarray  # per row of tables["orders"]: ORDER_PROCESS, ORDER_CANCELLED, ...
    stats: dict[str, int]


@dataclass
class _Context:
    """What every step of a block needs: the random stream, the clock, the settings, counters."""

    rng: np.random.Generator
    clock: _Clock
    settings: ShopSettings
    counters: dict[str, int]  # last order / refund / event number used, across blocks
    stats: dict[str, int]

    @property
    def window(self) -> float:
        return float(self.clock.window_days)

    def next_numbers(self, counter: str, k: int) -> np.ndarray:
        numbers = self.counters[counter] + 1 + np.arange(k, dtype=np.int64)
        self.counters[counter] += k
        return numbers


@dataclass
class _Customers:
    ids: pa.Array
    table: pa.Table
    is_buyer: np.ndarray
    first_t: np.ndarray  # first purchase time of buyers
    created: np.ndarray
    currency: np.ndarray  # index into CURRENCIES
    engagement: np.ndarray
    apple: np.ndarray
    sub_t: np.ndarray
    member: np.ndarray


@dataclass
class _Purchases:
    """The true process: one entry per purchase, and per buyer what the rest needs."""

    buyers: np.ndarray  # customer index of each buyer
    buyer: np.ndarray  # per purchase: index into buyers
    t: np.ndarray
    eur: np.ndarray
    nu: np.ndarray  # per buyer
    alive_until: np.ndarray  # per buyer: dropout time, or the window end


@dataclass
class _Orders:
    customer: np.ndarray  # unsorted, as simulated
    t: np.ndarray
    pos: np.ndarray


def _geography_arrays() -> tuple[np.ndarray, list[str], list[str], list[str], list[str]]:
    weights, countries, currencies, regions, cities = [], [], [], [], []
    for country, currency, share, places in GEOGRAPHY:
        for region, city, weight in places:
            weights.append(share * weight)
            countries.append(country)
            currencies.append(currency)
            regions.append(region)
            cities.append(city)
    w = np.array(weights)
    return w / w.sum(), countries, currencies, regions, cities


def _simulate_customers(ctx: _Context, first_index: int, n: int) -> _Customers:
    rng, s, W = ctx.rng, ctx.settings, ctx.window
    gidx = first_index + np.arange(n, dtype=np.int64)
    ids = _customer_ids(gidx)
    is_buyer = rng.random(n) < s.buyer_share
    first_t = rng.uniform(0.0, W, n)
    lead = HOUR + np.where(
        rng.random(n) < s.signup_before_purchase_share, rng.exponential(s.signup_lead_days, n), 0.0
    )
    created = np.where(is_buyer, first_t - lead, rng.uniform(0.0, W - HOUR, n))
    geo_w, geo_country, geo_currency, geo_region, geo_city = _geography_arrays()
    place = rng.choice(len(geo_w), size=n, p=geo_w)
    place_currency = np.array([CURRENCIES.index(c) for c in geo_currency], dtype=np.int8)
    has_email = rng.random(n) >= s.missing_email_share
    no_region = rng.random(n) < s.missing_region_share
    engagement = rng.beta(*s.engagement_beta, n)
    apple = has_email & (rng.random(n) < s.apple_mail_share)
    sub_t = created + np.where(
        rng.random(n) < s.subscribe_later_share, rng.exponential(s.subscribe_delay_days, n), 0.0
    )
    member = has_email & (rng.random(n) < s.newsletter_share) & (sub_t < W - HOUR)
    accepts_marketing = member | (rng.random(n) < s.accepts_marketing_without_list_share)

    domain = pa.array(["@example.com", "@example.org", "@example.net"]).take(pa.array(gidx % 3))
    emails = pc.binary_join_element_wise(
        "customer.", pc.cast(pa.array(gidx + 1), pa.string()), domain, ""
    )
    emails = pc.if_else(pa.array(has_email), emails, pa.scalar(None, pa.string()))
    table = pa.table(
        {
            "customer_id": ids,
            "email": emails,
            "created_at": timestamps_from_micros(ctx.clock.micros(created)),
            "country_code": pa.array(geo_country).take(pa.array(place)),
            "region": pa.array(geo_region).take(pa.array(place, mask=no_region)),
            "city": pa.array(geo_city).take(pa.array(place, mask=no_region)),
            "accepts_marketing": pa.array(accepts_marketing),
        },
        schema=arrow_schema("customers"),
    )
    return _Customers(
        ids=ids,
        table=table,
        is_buyer=is_buyer,
        first_t=first_t,
        created=created,
        currency=place_currency[place],
        engagement=engagement,
        apple=apple,
        sub_t=sub_t,
        member=member,
    )


def _simulate_purchases(
    ctx: _Context, customers: _Customers, bgnbd: BgNbdParameters, gg: GammaGammaParameters
) -> _Purchases:
    """The true BG/NBD purchases of the block's buyers, with their Gamma-Gamma EUR values."""
    rng, W = ctx.rng, ctx.window
    buyers = np.flatnonzero(customers.is_buyer)
    nb = len(buyers)
    lam = rng.gamma(bgnbd.r, 1.0 / bgnbd.alpha, nb)
    p_drop = np.clip(rng.beta(bgnbd.a, bgnbd.b, nb), 1e-12, 1.0)
    t0 = customers.first_t[buyers]
    span = W - t0
    m_total = rng.poisson(lam * span)  # purchases in the window if the customer never dropped
    j_drop = rng.geometric(p_drop)  # the repeat purchase after which the customer drops out
    k_rep = np.minimum(j_drop, m_total)
    # The first k of m uniform order statistics on (t0, W): cumulated exponential spacings
    # E_1..E_k, divided by their sum plus a Gamma(m - k + 1) standing for the other spacings.
    cum = np.concatenate(([0.0], np.cumsum(rng.exponential(1.0, int(k_rep.sum())))))
    ends = np.cumsum(k_rep)
    before = cum[ends - k_rep]
    seg = np.repeat(np.arange(nb), k_rep)
    partial = cum[1:] - before[seg]
    total = (cum[ends] - before) + rng.gamma((m_total - k_rep + 1).astype(np.float64))
    repeat_t = t0[seg] + span[seg] * partial / total[seg]
    last_t = np.where(k_rep > 0, np.concatenate(([0.0], repeat_t))[ends], t0)
    alive_until = np.where(j_drop <= m_total, last_t, W)
    ctx.stats["buyers"] = nb
    ctx.stats["repeat_buyers"] = int((k_rep > 0).sum())

    nu = rng.gamma(gg.q, 1.0 / gg.v, nb)
    buyer = np.concatenate((np.arange(nb), seg))
    eur = rng.gamma(gg.p, 1.0 / nu[buyer])
    ctx.stats["process_orders"] = len(buyer)
    return _Purchases(
        buyers=buyers,
        buyer=buyer,
        t=np.concatenate((t0, repeat_t)),
        eur=eur,
        nu=nu,
        alive_until=alive_until,
    )


def _simulate_orders(
    ctx: _Context, customers: _Customers, purchases: _Purchases, gg: GammaGammaParameters
) -> tuple[pa.Table, pa.Table, np.ndarray, _Orders]:
    """Orders (the process plus noise orders on top) and refunds.

    Returns the orders table (sorted by customer, then time), the refunds table, the kind of
    each order row, and the unsorted order arrays the browsing sessions need.
    """
    rng, s, W = ctx.rng, ctx.settings, ctx.window
    n_proc = len(purchases.t)
    u = rng.random(n_proc)
    kind = np.full(n_proc, -1, dtype=np.int8)
    kind[u < s.cancelled_share + s.full_refund_share + s.zero_value_share] = ORDER_ZERO
    kind[u < s.cancelled_share + s.full_refund_share] = ORDER_FULL_REFUND
    kind[u < s.cancelled_share] = ORDER_CANCELLED
    anchors = np.flatnonzero(kind >= 0)  # a noise order follows these purchases
    extra_kind = kind[anchors]
    extra_buyer = purchases.buyer[anchors]
    at = purchases.t[anchors]
    extra_t = at + rng.exponential(3.0, len(anchors))
    late = extra_t >= W
    extra_t[late] = at[late] + (W - at[late]) * rng.random(int(late.sum()))
    extra_eur = rng.gamma(gg.p, 1.0 / purchases.nu[extra_buyer])
    extra_eur[extra_kind == ORDER_ZERO] = 0.0
    # a few customers outside the process have a cancelled order only
    created = customers.created
    non_buyers = np.flatnonzero(~customers.is_buyer)
    nbc = non_buyers[rng.random(len(non_buyers)) < s.non_buyer_cancelled_share]
    nbc_t = created[nbc] + HOUR + (W - created[nbc] - HOUR) * rng.random(len(nbc))
    nbc_eur = rng.gamma(gg.p, 1.0 / rng.gamma(gg.q, 1.0 / gg.v, len(nbc)))
    ctx.stats["cancelled_orders"] = int((extra_kind == ORDER_CANCELLED).sum()) + len(nbc)
    ctx.stats["fully_refunded_orders"] = int((extra_kind == ORDER_FULL_REFUND).sum())
    ctx.stats["zero_value_orders"] = int((extra_kind == ORDER_ZERO).sum())

    buyers = purchases.buyers
    o_cust = np.concatenate((buyers[purchases.buyer], buyers[extra_buyer], nbc))
    o_t = np.concatenate((purchases.t, extra_t, nbc_t))
    o_eur = np.concatenate((purchases.eur, extra_eur, nbc_eur))
    o_kind = np.concatenate(
        (np.zeros(n_proc, np.int8), extra_kind, np.full(len(nbc), ORDER_CANCELLED, np.int8))
    )
    o_cur = customers.currency[o_cust]
    rates = np.array([FX_RATES[c] for c in CURRENCIES])
    o_cents = np.round(o_eur / rates[o_cur] * 100.0).astype(np.int64)
    o_cents = np.where(o_kind == ORDER_ZERO, 0, np.maximum(o_cents, 1))
    n_orders = len(o_t)
    pos = rng.random(n_orders) < s.pos_share
    subscription = ~pos & (rng.random(n_orders) < s.subscription_share / (1.0 - s.pos_share))

    order_perm = np.lexsort((o_t, o_cust))
    order_rank = np.empty(n_orders, dtype=np.int64)
    order_rank[order_perm] = np.arange(n_orders)
    # order numbers follow customer, then time; ids are built unsorted, then sorted with the rows
    order_ids = _ids("O", ctx.counters["order"] + 1 + order_rank, 10)
    ctx.counters["order"] += n_orders

    # partial refunds of process orders (dropped when they would fall after as_of_date)
    lo, hi = s.partial_refund_range
    part = np.flatnonzero(
        (o_kind == ORDER_PROCESS) & (o_cents >= 2) & (rng.random(n_orders) < s.partial_refund_share)
    )
    part_cents = np.maximum(np.round(o_cents[part] * rng.uniform(lo, hi, len(part))), 1)
    part_t = o_t[part] + HOUR + rng.exponential(s.refund_delay_days, len(part))
    keep = part_t < W
    part, part_cents, part_t = part[keep], part_cents[keep].astype(np.int64), part_t[keep]
    ctx.stats["partial_refunds"] = len(part)
    # full refunds, one row or two summing to the amount, always before the window end
    full = np.flatnonzero(o_kind == ORDER_FULL_REFUND)
    full_t = o_t[full] + HOUR + rng.exponential(s.refund_delay_days, len(full))
    late = full_t >= W
    full_t[late] = o_t[full][late] + (W - o_t[full][late]) * rng.uniform(0.2, 0.9, int(late.sum()))
    split = (rng.random(len(full)) < s.split_full_refund_share) & (o_cents[full] >= 2)
    first_cents = np.where(
        split,
        np.clip(np.round(o_cents[full] * rng.uniform(0.2, 0.8, len(full))), 1, o_cents[full] - 1),
        o_cents[full],
    ).astype(np.int64)
    second = full[split]
    second_from = full_t[split]
    second_t = second_from + (np.minimum(W, second_from + 5.0) - second_from) * rng.random(
        len(second)
    )
    r_order = np.concatenate((part, full, second))
    r_cents = np.concatenate((part_cents, first_cents, o_cents[second] - first_cents[split]))
    r_t = np.concatenate((part_t, full_t, second_t))
    r_perm = np.lexsort((r_t, order_rank[r_order]))
    r_order, r_cents, r_t = r_order[r_perm], r_cents[r_perm], r_t[r_perm]
    refunds = pa.table(
        {
            "refund_id": _ids("R", ctx.next_numbers("refund", len(r_order)), 9),
            "order_id": order_ids.take(pa.array(r_order)),
            "refunded_at": timestamps_from_micros(ctx.clock.micros(r_t)),
            "amount": money_from_cents(r_cents),
        },
        schema=arrow_schema("refunds"),
    )
    orders = pa.table(
        {
            "order_id": order_ids,
            "customer_id": customers.ids.take(pa.array(o_cust)),
            "ordered_at": timestamps_from_micros(ctx.clock.micros(o_t)),
            "amount": money_from_cents(o_cents),
            "currency": pa.array(CURRENCIES).take(pa.array(o_cur)),
            "status": pa.array(["placed", "cancelled"]).take(
                pa.array((o_kind == ORDER_CANCELLED).astype(np.int8))
            ),
            "channel": pa.array(["online", "pos"]).take(pa.array(pos.astype(np.int8))),
            "is_subscription": pa.array(subscription),
        },
        schema=arrow_schema("orders"),
    ).take(pa.array(order_perm))
    return orders, refunds, o_kind[order_perm], _Orders(customer=o_cust, t=o_t, pos=pos)


class _EventLog:
    """Events collected as numpy arrays, turned into one sorted Arrow table at the end."""

    def __init__(self) -> None:
        self._parts: list[tuple[np.ndarray, ...]] = []

    def add(
        self,
        customer: np.ndarray,
        code: int | np.ndarray,
        t: np.ndarray,
        campaign: np.ndarray | None = None,
        machine_open: bool | None = None,
    ) -> None:
        k = len(customer)
        self._parts.append(
            (
                customer.astype(np.int64),
                np.broadcast_to(np.asarray(code, dtype=np.int8), (k,)).copy(),
                t,
                np.full(k, -1, np.int32) if campaign is None else campaign.astype(np.int32),
                np.full(k, -1 if machine_open is None else int(machine_open), np.int8),
            )
        )

    def to_table(self, ctx: _Context, customer_ids: pa.Array, campaign_ids: pa.Array) -> pa.Table:
        """Events before the window end, sorted by customer, time and type, numbered in order."""
        cust, code, t, campaign, machine = (
            np.concatenate(c) for c in zip(*self._parts, strict=True)
        )
        inside = t < ctx.window
        cust, code, t, campaign, machine = (a[inside] for a in (cust, code, t, campaign, machine))
        perm = np.lexsort((code, t, cust))
        cust, code, t, campaign, machine = (a[perm] for a in (cust, code, t, campaign, machine))
        return pa.table(
            {
                "event_id": _ids("E", ctx.next_numbers("event", len(t)), 11),
                "customer_id": customer_ids.take(pa.array(cust)),
                "event_type": pa.array(EVENT_TYPES).take(pa.array(code)),
                "occurred_at": timestamps_from_micros(ctx.clock.micros(t)),
                "campaign_id": campaign_ids.take(pa.array(campaign, mask=campaign < 0)),
                "is_machine_open": pa.array(machine == 1, mask=machine < 0),
            },
            schema=arrow_schema("events"),
        )


def _simulate_email(
    ctx: _Context,
    customers: _Customers,
    interest_end: np.ndarray,
    campaign_t: np.ndarray,
    log: _EventLog,
) -> tuple[pa.Table, pa.Table]:
    """Newsletter membership, campaign emails and their reactions; returns (memberships,
    suppressions).

    Each delivery may end the subscription: an unsubscribe (ends the membership and suppresses),
    a spam complaint (suppresses) or, for a bad address, a hard bounce at the first delivery
    (suppresses). A few members are suppressed by hand or leave the list quietly.
    """
    rng, s, W = ctx.rng, ctx.settings, ctx.window
    mem = np.flatnonzero(customers.member)
    n_mem = len(mem)
    msub = customers.sub_t[mem]
    fate = rng.random(n_mem)
    manual = fate < s.manual_suppression_share
    leaver = (fate >= s.manual_suppression_share) & (
        fate < s.manual_suppression_share + s.list_leave_share
    )
    stops = manual | leaver
    stop_at = np.full(n_mem, W)
    stop_at[stops] = msub[stops] + (W - msub[stops]) * rng.random(int(stops.sum()))
    c_lo = np.searchsorted(campaign_t, np.maximum(msub, 0.0), side="left")
    c_hi = np.searchsorted(campaign_t, stop_at - 0.05, side="left")
    n_avail = np.maximum(c_hi - c_lo, 0)
    bad = rng.random(n_mem) < s.bad_email_share
    hazard = s.unsubscribe_hazard + s.spam_hazard
    k_term = np.where(bad, 1, rng.geometric(hazard, n_mem))
    # 0 unsubscribe, 1 spam complaint, 2 bounce: also the index into SUPPRESSION_REASONS below
    term_kind = np.where(bad, 2, np.where(rng.random(n_mem) < s.unsubscribe_hazard / hazard, 0, 1))
    terminated = k_term <= n_avail
    n_deliv = np.where(terminated, k_term, n_avail)
    d_mem = np.repeat(np.arange(n_mem), n_deliv)
    d_campaign = c_lo[d_mem] + _within_segment_index(n_deliv)
    d_t = campaign_t[d_campaign] + rng.uniform(0.0, 30 * MINUTE, len(d_mem))
    d_cust = mem[d_mem]
    is_last = np.zeros(len(d_mem), dtype=bool)
    is_last[(np.cumsum(n_deliv) - 1)[n_deliv > 0]] = True
    bounced = is_last & bad[d_mem] & terminated[d_mem]
    d_code = np.where(bounced, EVENT_CODE["email_bounced"], EVENT_CODE["email_delivered"])
    log.add(d_cust, d_code, d_t, d_campaign)
    ctx.stats["email_deliveries"] = int((~bounced).sum())

    # the terminal event: a bounce is the delivery itself, the others follow it
    term_rows = np.flatnonzero(is_last & terminated[d_mem])
    term_mem = d_mem[term_rows]
    term_t = d_t[term_rows] + np.where(
        term_kind[term_mem] == 2, 0.0, rng.uniform(10 * MINUTE, 0.5, len(term_rows))
    )
    in_window = term_t < W
    term_rows, term_mem, term_t = term_rows[in_window], term_mem[in_window], term_t[in_window]
    tk = term_kind[term_mem]
    for code, kind_value in (("email_unsubscribed", 0), ("email_marked_spam", 1)):
        sel = tk == kind_value
        log.add(mem[term_mem[sel]], EVENT_CODE[code], term_t[sel], d_campaign[term_rows[sel]])
    unsub_at = np.full(n_mem, np.nan)
    unsub_at[term_mem[tk == 0]] = term_t[tk == 0]
    unsub_at[leaver] = np.fmin(unsub_at[leaver], stop_at[leaver])
    already_suppressed = np.zeros(n_mem, dtype=bool)
    already_suppressed[term_mem] = True
    manual_only = manual & ~already_suppressed

    memberships = pa.table(
        {
            "list_id": pa.array(np.full(n_mem, NEWSLETTER_LIST_ID), type=pa.string()),
            "customer_id": customers.ids.take(pa.array(mem)),
            "subscribed_at": timestamps_from_micros(ctx.clock.micros(msub)),
            "unsubscribed_at": timestamps_from_micros(
                ctx.clock.micros(np.nan_to_num(unsub_at)), mask=np.isnan(unsub_at)
            ),
        },
        schema=arrow_schema("list_memberships"),
    )
    supp_cust = np.concatenate((mem[term_mem], mem[manual_only]))
    supp_t = np.concatenate((term_t, stop_at[manual_only]))
    supp_reason = np.concatenate((tk, np.full(int(manual_only.sum()), 3)))
    perm = np.lexsort((supp_t, supp_cust))
    reasons = pa.array(["unsubscribed", "spam_complaint", "bounced", "manual"])
    suppressions = pa.table(
        {
            "customer_id": customers.ids.take(pa.array(supp_cust[perm])),
            "suppressed_at": timestamps_from_micros(ctx.clock.micros(supp_t[perm])),
            "reason": reasons.take(pa.array(supp_reason[perm])),
        },
        schema=arrow_schema("suppressions"),
    )

    # opens (human ones fade with interest; Apple Mail prefetches), clicks, visits from clicks
    delivered = np.flatnonzero(~bounced)
    dc = d_cust[delivered]
    eng = customers.engagement[dc]
    p_open = np.where(
        d_t[delivered] < interest_end[dc], s.human_open_rate * eng, s.faded_open_rate * eng
    )
    human = delivered[rng.random(len(delivered)) < p_open]
    open_t = d_t[human] + rng.lognormal(math.log(3 * HOUR), 1.2, len(human))
    log.add(d_cust[human], EVENT_CODE["email_opened"], open_t, d_campaign[human], False)
    machine = delivered[customers.apple[dc] & (rng.random(len(delivered)) < s.machine_open_rate)]
    machine_t = d_t[machine] + rng.uniform(MINUTE, 20 * MINUTE, len(machine))
    log.add(d_cust[machine], EVENT_CODE["email_opened"], machine_t, d_campaign[machine], True)
    p_click = s.click_rate_base + s.click_rate_engaged * customers.engagement[d_cust[human]]
    clicked = rng.random(len(human)) < p_click
    click_rows = human[clicked]
    click_t = open_t[clicked] + rng.uniform(0.5 * MINUTE, 10 * MINUTE, len(click_rows))
    log.add(d_cust[click_rows], EVENT_CODE["email_clicked"], click_t, d_campaign[click_rows])
    visit = rng.random(len(click_rows)) < s.click_session_share
    vc, vt = d_cust[click_rows][visit], click_t[visit]
    log.add(vc, EVENT_CODE["site_active"], vt + MINUTE)
    views = rng.random(len(vc)) < 0.8
    log.add(vc[views], EVENT_CODE["product_viewed"], vt[views] + 2 * MINUTE)
    return memberships, suppressions


def _simulate_browsing(
    ctx: _Context, customers: _Customers, interest_end: np.ndarray, log: _EventLog
) -> None:
    """Browsing sessions, a Poisson process while interested, at a rate set by engagement."""
    rng, s = ctx.rng, ctx.settings
    b_from = np.maximum(customers.created, 0.0)
    b_len = np.maximum(np.minimum(interest_end, ctx.window) - b_from, 0.0)
    n_sessions = rng.poisson(s.browse_rate * customers.engagement * b_len)
    sc = np.repeat(np.arange(len(b_from)), n_sessions)
    st = b_from[sc] + b_len[sc] * rng.random(len(sc))
    log.add(sc, EVENT_CODE["site_active"], st)
    viewer = rng.random(len(sc)) < s.session_view_share
    n_views = np.where(viewer, rng.geometric(0.5, len(sc)), 0)
    vsc = np.repeat(sc, n_views)
    vst = np.repeat(st, n_views) + (1 + _within_segment_index(n_views)) * rng.uniform(
        0.5 * MINUTE, 3 * MINUTE, len(vsc)
    )
    log.add(vsc, EVENT_CODE["product_viewed"], vst)
    cart = viewer & (rng.random(len(sc)) < s.session_cart_share)
    log.add(sc[cart], EVENT_CODE["cart_added"], st[cart] + 12 * MINUTE)
    checkout = cart & (rng.random(len(sc)) < s.session_checkout_share)
    log.add(sc[checkout], EVENT_CODE["checkout_started"], st[checkout] + 15 * MINUTE)


def _simulate_order_sessions(ctx: _Context, orders: _Orders, log: _EventLog) -> None:
    """The site session in the hour before each online order."""
    rng, s = ctx.rng, ctx.settings
    online = np.flatnonzero(~orders.pos)
    oc, ot = orders.customer[online], orders.t[online]
    for code, share, lo_min, hi_min in (
        ("site_active", s.order_session_active_share, 30, 50),
        ("product_viewed", s.order_session_view_share, 20, 30),
        ("cart_added", s.order_session_cart_share, 8, 15),
        ("checkout_started", s.order_session_checkout_share, 1, 5),
    ):
        sel = rng.random(len(oc)) < share
        lead_t = rng.uniform(lo_min * MINUTE, hi_min * MINUTE, int(sel.sum()))
        log.add(oc[sel], EVENT_CODE[code], ot[sel] - lead_t)


def _simulate_block(
    ctx: _Context,
    first_index: int,
    n: int,
    bgnbd: BgNbdParameters,
    gg: GammaGammaParameters,
    campaign_t: np.ndarray,
    campaign_ids: pa.Array,
) -> _Block:
    """All six tables for customers ``first_index`` .. ``first_index + n - 1``."""
    customers = _simulate_customers(ctx, first_index, n)
    purchases = _simulate_purchases(ctx, customers, bgnbd, gg)
    orders, refunds, order_kind, order_arrays = _simulate_orders(ctx, customers, purchases, gg)
    # interest fades after a while, but not while a buyer is alive (plus a tail after dropout)
    interest_end = customers.created + ctx.rng.exponential(ctx.settings.interest_days, n)
    buyer_interest = purchases.alive_until + ctx.rng.exponential(
        ctx.settings.interest_after_dropout_days, len(purchases.buyers)
    )
    interest_end[purchases.buyers] = np.maximum(interest_end[purchases.buyers], buyer_interest)
    log = _EventLog()
    memberships, suppressions = _simulate_email(ctx, customers, interest_end, campaign_t, log)
    _simulate_browsing(ctx, customers, interest_end, log)
    _simulate_order_sessions(ctx, order_arrays, log)
    return _Block(
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


# --- bad rows ---------------------------------------------------------------------------------


def _inject_bad_rows(
    rng: np.random.Generator,
    sample: _Block,
    totals: dict[str, int],
    fraction: float,
    clock: _Clock,
    counters: dict[str, int],
) -> tuple[dict[str, pa.Table], dict[str, dict[str, int]]]:
    """Bad rows of each kind, ``max(1, round(fraction * rows))`` each, from block 0's rows."""

    def how_many(table: str, available: int) -> int:
        return min(max(1, round(fraction * totals[table])), available)

    def pick(available: int, k: int) -> np.ndarray:
        return np.sort(rng.choice(available, size=k, replace=False))

    def set_column(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
        return table.set_column(table.schema.get_field_index(name), name, values)

    def after_as_of(k: int) -> pa.Array:
        days = rng.uniform(0.0, 30.0, k)
        return timestamps_from_micros(clock.end_us + np.floor(days * DAY_US).astype(np.int64))

    def new_order_ids(k: int) -> pa.Array:
        numbers = counters["order"] + 1 + np.arange(k)
        counters["order"] += k
        return _ids("O", numbers, 10)

    def new_event_ids(k: int) -> pa.Array:
        numbers = counters["event"] + 1 + np.arange(k)
        counters["event"] += k
        return _ids("E", numbers, 11)

    out: dict[str, list[pa.Table]] = {name: [] for name in RAW_TABLES}
    counts: dict[str, dict[str, int]] = {"customers": {}, "orders": {}, "refunds": {}, "events": {}}

    customers = sample.tables["customers"]
    k = how_many("customers", customers.num_rows)
    out["customers"].append(customers.take(pa.array(pick(customers.num_rows, k))))
    counts["customers"]["exact_duplicate"] = k

    orders = sample.tables["orders"]
    process_rows = np.flatnonzero(sample.order_kind == ORDER_PROCESS)
    cancelled_rows = np.flatnonzero(sample.order_kind == ORDER_CANCELLED)
    k = how_many("orders", len(process_rows))
    out["orders"].append(orders.take(pa.array(process_rows[pick(len(process_rows), k)])))
    counts["orders"]["exact_duplicate"] = k

    # key conflicts and over-refunds target cancelled noise orders (disjoint sets)
    k_conflict = how_many("orders", len(cancelled_rows) // 2)
    k_exceed = how_many("refunds", len(cancelled_rows) - k_conflict)
    chosen = cancelled_rows[rng.permutation(len(cancelled_rows))[: k_conflict + k_exceed]]
    conflict_rows, exceed_rows = np.sort(chosen[:k_conflict]), np.sort(chosen[k_conflict:])
    conflict = orders.take(pa.array(conflict_rows))
    cents = _cents(conflict.column("amount"))
    conflict = set_column(conflict, "amount", money_from_cents(cents + 100 + cents // 2))
    out["orders"].append(conflict)
    counts["orders"]["key_conflict"] = k_conflict

    def new_orders(kind: str) -> pa.Table:
        k = how_many("orders", len(process_rows))
        rows = orders.take(pa.array(process_rows[pick(len(process_rows), k)]))
        counts["orders"][kind] = k
        return set_column(rows, "order_id", new_order_ids(k))

    rows = new_orders("negative_amount")
    out["orders"].append(
        set_column(rows, "amount", money_from_cents(-_cents(rows.column("amount"))))
    )
    rows = new_orders("unknown_currency")
    out["orders"].append(
        set_column(rows, "currency", pa.array(["XXX"] * rows.num_rows, pa.string()))
    )
    rows = new_orders("missing_customer_id")
    out["orders"].append(set_column(rows, "customer_id", pa.nulls(rows.num_rows, pa.string())))
    rows = new_orders("after_as_of_date")
    out["orders"].append(set_column(rows, "ordered_at", after_as_of(rows.num_rows)))

    # refunds: orphans (order ids no order has) and refunds larger than their order
    k = how_many("refunds", 10**6)
    first_refund = counters["refund"] + 1
    counters["refund"] += k + k_exceed
    orphan_orders = _ids("O", 9_000_000_000 + np.arange(k), 10)
    orphan_days = rng.uniform(0.0, clock.window_days, k)
    out["refunds"].append(
        pa.table(
            {
                "refund_id": _ids("R", first_refund + np.arange(k), 9),
                "order_id": orphan_orders,
                "refunded_at": timestamps_from_micros(clock.micros(orphan_days)),
                "amount": money_from_cents(rng.integers(100, 10_000, k)),
            },
            schema=arrow_schema("refunds"),
        )
    )
    counts["refunds"]["orphan"] = k
    exceed = orders.take(pa.array(exceed_rows))
    exceed_cents = _cents(exceed.column("amount"))
    exceed_us = exceed.column("ordered_at").cast(pa.int64()).to_numpy() + DAY_US
    out["refunds"].append(
        pa.table(
            {
                "refund_id": _ids("R", first_refund + k + np.arange(k_exceed), 9),
                "order_id": exceed.column("order_id"),
                "refunded_at": timestamps_from_micros(np.minimum(exceed_us, clock.end_us - 1)),
                "amount": money_from_cents(exceed_cents + 100 + exceed_cents // 2),
            },
            schema=arrow_schema("refunds"),
        )
    )
    counts["refunds"]["exceeds_order"] = k_exceed

    events = sample.tables["events"]
    k = how_many("events", events.num_rows)
    out["events"].append(events.take(pa.array(pick(events.num_rows, k))))
    counts["events"]["exact_duplicate"] = k
    k = how_many("events", events.num_rows)
    rows = events.take(pa.array(pick(events.num_rows, k)))
    rows = set_column(rows, "event_id", new_event_ids(k))
    rows = set_column(rows, "event_type", pa.array(["sms_sent"] * k, pa.string()))
    rows = set_column(rows, "campaign_id", pa.nulls(k, pa.string()))
    rows = set_column(rows, "is_machine_open", pa.nulls(k, pa.bool_()))
    out["events"].append(rows)
    counts["events"]["unknown_event_type"] = k
    k = how_many("events", events.num_rows)
    rows = events.take(pa.array(pick(events.num_rows, k)))
    rows = set_column(rows, "event_id", new_event_ids(k))
    out["events"].append(set_column(rows, "occurred_at", after_as_of(k)))
    counts["events"]["after_as_of_date"] = k

    tables = {name: pa.concat_tables(parts) for name, parts in out.items() if parts}
    return tables, counts


def _cents(amounts: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Integer cents of a decimal(18,2) column (the low 64 bits of each 128-bit value)."""
    if isinstance(amounts, pa.ChunkedArray):
        amounts = amounts.combine_chunks()
    words = np.frombuffer(amounts.buffers()[1], dtype=np.int64).reshape(-1, 2)
    return words[amounts.offset : amounts.offset + len(amounts), 0].copy()


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
    clock = _Clock(as_of, years)
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
    sample: _Block | None = None
    writers = {name: TableWriter(out, name, fmt) for name in RAW_TABLES}
    try:
        for block in range(n_blocks):
            block_started = time.perf_counter()
            first = block * BLOCK_SIZE
            size = min(BLOCK_SIZE, n_customers - first)
            ctx = _Context(
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
            bad_tables, injected = _inject_bad_rows(
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

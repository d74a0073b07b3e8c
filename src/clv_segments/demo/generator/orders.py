"""The true purchase process and the order rows around it: noise orders, refunds."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from clv_segments.demo.generator.common import (
    CURRENCIES,
    ORDER_CANCELLED,
    ORDER_FULL_REFUND,
    ORDER_PROCESS,
    ORDER_ZERO,
    Context,
    ids,
)
from clv_segments.demo.generator.customers import Customers
from clv_segments.demo.generator.truth import FX_RATES, HOUR, BgNbdParameters, GammaGammaParameters
from clv_segments.demo.rawfiles import (
    arrow_schema,
    money_from_cents,
    timestamps_from_micros,
)


@dataclass
class Purchases:
    """The true process: one entry per purchase, and per buyer what the rest needs."""

    buyers: np.ndarray  # customer index of each buyer
    buyer: np.ndarray  # per purchase: index into buyers
    t: np.ndarray
    eur: np.ndarray
    nu: np.ndarray  # per buyer
    alive_until: np.ndarray  # per buyer: dropout time, or the window end


@dataclass
class Orders:
    customer: np.ndarray  # unsorted, as simulated
    t: np.ndarray
    pos: np.ndarray


def simulate_purchases(
    ctx: Context, customers: Customers, bgnbd: BgNbdParameters, gg: GammaGammaParameters
) -> Purchases:
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
    return Purchases(
        buyers=buyers,
        buyer=buyer,
        t=np.concatenate((t0, repeat_t)),
        eur=eur,
        nu=nu,
        alive_until=alive_until,
    )


def simulate_orders(
    ctx: Context, customers: Customers, purchases: Purchases, gg: GammaGammaParameters
) -> tuple[pa.Table, pa.Table, np.ndarray, Orders]:
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
    order_ids = ids("O", ctx.counters["order"] + 1 + order_rank, 10)
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
            "refund_id": ids("R", ctx.next_numbers("refund", len(r_order)), 9),
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
    return orders, refunds, o_kind[order_perm], Orders(customer=o_cust, t=o_t, pos=pos)

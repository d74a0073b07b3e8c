"""Engagement events: the newsletter's campaigns, browsing sessions, the session before an order."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa

from clv_segments.demo.generator.common import (
    EVENT_CODE,
    Context,
    ids,
    within_segment_index,
)
from clv_segments.demo.generator.customers import Customers
from clv_segments.demo.generator.orders import Orders
from clv_segments.demo.generator.truth import HOUR, MINUTE, NEWSLETTER_LIST_ID
from clv_segments.demo.rawfiles import (
    EVENT_TYPES,
    arrow_schema,
    timestamps_from_micros,
)


class EventLog:
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

    def to_table(self, ctx: Context, customer_ids: pa.Array, campaign_ids: pa.Array) -> pa.Table:
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
                "event_id": ids("E", ctx.next_numbers("event", len(t)), 11),
                "customer_id": customer_ids.take(pa.array(cust)),
                "event_type": pa.array(EVENT_TYPES).take(pa.array(code)),
                "occurred_at": timestamps_from_micros(ctx.clock.micros(t)),
                "campaign_id": campaign_ids.take(pa.array(campaign, mask=campaign < 0)),
                "is_machine_open": pa.array(machine == 1, mask=machine < 0),
            },
            schema=arrow_schema("events"),
        )


def simulate_email(
    ctx: Context,
    customers: Customers,
    interest_end: np.ndarray,
    campaign_t: np.ndarray,
    log: EventLog,
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
    d_campaign = c_lo[d_mem] + within_segment_index(n_deliv)
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


def simulate_browsing(
    ctx: Context, customers: Customers, interest_end: np.ndarray, log: EventLog
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
    vst = np.repeat(st, n_views) + (1 + within_segment_index(n_views)) * rng.uniform(
        0.5 * MINUTE, 3 * MINUTE, len(vsc)
    )
    log.add(vsc, EVENT_CODE["product_viewed"], vst)
    cart = viewer & (rng.random(len(sc)) < s.session_cart_share)
    log.add(sc[cart], EVENT_CODE["cart_added"], st[cart] + 12 * MINUTE)
    checkout = cart & (rng.random(len(sc)) < s.session_checkout_share)
    log.add(sc[checkout], EVENT_CODE["checkout_started"], st[checkout] + 15 * MINUTE)


def simulate_order_sessions(ctx: Context, orders: Orders, log: EventLog) -> None:
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

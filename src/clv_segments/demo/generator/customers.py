"""Customers: identity, geography, currency, signup, engagement and newsletter membership."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from clv_segments.demo.generator.common import CURRENCIES, Context, customer_ids
from clv_segments.demo.generator.truth import GEOGRAPHY, HOUR
from clv_segments.demo.rawfiles import (
    arrow_schema,
    timestamps_from_micros,
)


@dataclass
class Customers:
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


def geography_arrays() -> tuple[np.ndarray, list[str], list[str], list[str], list[str]]:
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


def simulate_customers(ctx: Context, first_index: int, n: int) -> Customers:
    rng, s, W = ctx.rng, ctx.settings, ctx.window
    gidx = first_index + np.arange(n, dtype=np.int64)
    ids = customer_ids(gidx)
    is_buyer = rng.random(n) < s.buyer_share
    first_t = rng.uniform(0.0, W, n)
    lead = HOUR + np.where(
        rng.random(n) < s.signup_before_purchase_share, rng.exponential(s.signup_lead_days, n), 0.0
    )
    created = np.where(is_buyer, first_t - lead, rng.uniform(0.0, W - HOUR, n))
    geo_w, geo_country, geo_currency, geo_region, geo_city = geography_arrays()
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
    return Customers(
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

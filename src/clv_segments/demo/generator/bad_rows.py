"""Bad rows appended after the good ones, counted per table and kind (``dirty_fraction``)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from clv_segments.demo.generator.common import ORDER_CANCELLED, ORDER_PROCESS, Block, Clock, ids
from clv_segments.demo.generator.truth import DAY_US
from clv_segments.demo.rawfiles import (
    RAW_TABLES,
    arrow_schema,
    money_from_cents,
    timestamps_from_micros,
)


def inject_bad_rows(
    rng: np.random.Generator,
    sample: Block,
    totals: dict[str, int],
    fraction: float,
    clock: Clock,
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
        return ids("O", numbers, 10)

    def new_event_ids(k: int) -> pa.Array:
        numbers = counters["event"] + 1 + np.arange(k)
        counters["event"] += k
        return ids("E", numbers, 11)

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
    cents = cents_of(conflict.column("amount"))
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
        set_column(rows, "amount", money_from_cents(-cents_of(rows.column("amount"))))
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
    orphan_orders = ids("O", 9_000_000_000 + np.arange(k), 10)
    orphan_days = rng.uniform(0.0, clock.window_days, k)
    out["refunds"].append(
        pa.table(
            {
                "refund_id": ids("R", first_refund + np.arange(k), 9),
                "order_id": orphan_orders,
                "refunded_at": timestamps_from_micros(clock.micros(orphan_days)),
                "amount": money_from_cents(rng.integers(100, 10_000, k)),
            },
            schema=arrow_schema("refunds"),
        )
    )
    counts["refunds"]["orphan"] = k
    exceed = orders.take(pa.array(exceed_rows))
    exceed_cents = cents_of(exceed.column("amount"))
    exceed_us = exceed.column("ordered_at").cast(pa.int64()).to_numpy() + DAY_US
    out["refunds"].append(
        pa.table(
            {
                "refund_id": ids("R", first_refund + k + np.arange(k_exceed), 9),
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


def cents_of(amounts: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Integer cents of a decimal(18,2) column (the low 64 bits of each 128-bit value)."""
    if isinstance(amounts, pa.ChunkedArray):
        amounts = amounts.combine_chunks()
    words = np.frombuffer(amounts.buffers()[1], dtype=np.int64).reshape(-1, 2)
    return words[amounts.offset : amounts.offset + len(amounts), 0].copy()

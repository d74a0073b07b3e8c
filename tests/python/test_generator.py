"""Tests of the synthetic data generator, read back through DuckDB, independent of its internals."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from clv_segments import cli
from clv_segments.demo.generator import FX_RATES, TRUE_GAMMA_GAMMA, generate
from clv_segments.demo.rawfiles import EVENT_TYPES, RAW_TABLES, arrow_schema, write_table
from conftest import PERSONAS

AS_OF = date(2026, 11, 23)
N_PERSONAS = 20_000
FX_VALUES = ", ".join(f"('{c}', {r})" for c, r in FX_RATES.items())

ENGAGEMENT_TYPES = (
    "'email_opened', 'email_clicked', 'site_active', 'product_viewed', 'cart_added', "
    "'checkout_started'"
)

# DESIGN.md "Personas", default vars, computed from the raw files alone.
PERSONAS_SQL = """
with
fx(currency, rate) as (values {fx}),
refund_totals as (
    select order_id, sum(amount) as refunded from read_parquet('{d}/refunds.parquet') group by 1
),
order_values as (
    select
        o.customer_id,
        (o.amount - coalesce(r.refunded, 0)) * fx.rate as net_value,
        date '{as_of}' - cast(timezone('UTC', o.ordered_at) as date) as days_ago
    from read_parquet('{d}/orders.parquet') as o
    inner join fx on fx.currency = o.currency
    left join refund_totals as r on r.order_id = o.order_id
    where o.status = 'placed' and o.customer_id is not null
),
valid as (select * from order_values where net_value > 0 and days_ago >= 0),
account as (select sum(net_value) / count(*) as aov from valid),
buyers as (
    select
        customer_id,
        count(*) as n_orders,
        min(days_ago) as d,
        sum(net_value) / count(*) as aov,
        count(*) filter (where days_ago < 30) as orders_30,
        count(*) filter (where days_ago < 395) as orders_395
    from valid
    group by 1
),
engagement_events as (
    select
        customer_id,
        event_type,
        date '{as_of}' - cast(timezone('UTC', occurred_at) as date) as days_ago
    from read_parquet('{d}/events.parquet')
    where event_type in ({engagement})
        and not (event_type = 'email_opened' and coalesce(is_machine_open, false))
),
engagement as (
    select
        customer_id,
        count(*) filter (where days_ago < 90) as recent,
        count(*) filter (where days_ago >= 90 and days_ago < 365) as prior,
        count(*) filter (where days_ago < 180) as last_180,
        count(*) filter (
            where days_ago < 90
                and event_type in ('product_viewed', 'cart_added', 'checkout_started')
        ) as shopping_90,
        count(*) filter (where days_ago < 30 and event_type = 'email_clicked') as clicks_30
    from engagement_events
    where days_ago >= 0
    group by 1
),
members as (
    select distinct customer_id
    from read_parquet('{d}/list_memberships.parquet')
    where list_id = 'newsletter'
        and cast(timezone('UTC', subscribed_at) as date) <= date '{as_of}'
        and (
            unsubscribed_at is null
            or cast(timezone('UTC', unsubscribed_at) as date) > date '{as_of}'
        )
),
suppressed as (
    select distinct customer_id
    from read_parquet('{d}/suppressions.parquet')
    where cast(timezone('UTC', suppressed_at) as date) <= date '{as_of}'
),
c as (
    select
        cu.customer_id,
        cu.email is not null and m.customer_id is not null and s.customer_id is null
            as emailable,
        date '{as_of}' - cast(timezone('UTC', cu.created_at) as date) as created_days_ago,
        coalesce(b.n_orders, 0) as n_orders,
        b.d,
        b.aov > (select aov from account) as high_value,
        coalesce(b.orders_30, 0) as orders_30,
        coalesce(b.orders_395, 0) as orders_395,
        coalesce(e.recent, 0) as recent,
        coalesce(e.prior, 0) as prior,
        coalesce(e.last_180, 0) as last_180,
        coalesce(e.shopping_90, 0) as shopping_90,
        coalesce(e.clicks_30, 0) as clicks_30
    from read_parquet('{d}/customers.parquet') as cu
    left join buyers as b on b.customer_id = cu.customer_id
    left join engagement as e on e.customer_id = cu.customer_id
    left join members as m on m.customer_id = cu.customer_id
    left join suppressed as s on s.customer_id = cu.customer_id
)
select
    count(*) filter (where d < 120 and n_orders >= 3 and high_value) as biggest_fans,
    count(*) filter (where d < 120 and n_orders >= 3 and not high_value) as brand_fans,
    count(*) filter (where d < 120 and n_orders < 3 and high_value) as potential_fans,
    count(*) filter (where d < 120 and n_orders < 3 and not high_value)
        as potential_brand_lovers,
    count(*) filter (where d >= 120 and d < 395 and n_orders >= 3 and high_value)
        as former_biggest_fans,
    count(*) filter (where d >= 120 and d < 395 and n_orders >= 3 and not high_value)
        as former_brand_fans,
    count(*) filter (where d >= 120 and d < 395 and n_orders < 3 and high_value)
        as fleeting_fans,
    count(*) filter (where n_orders between 1 and 2 and d >= 180 and d < 395 and not high_value)
        as drive_by_customers,
    count(*) filter (where clicks_30 > 0 and orders_30 = 0) as espresso,
    count(*) filter (where n_orders = 0 and shopping_90 > 0) as potentially_interested_buyers,
    count(*) filter (where n_orders = 0 and recent >= 3) as in_betweens,
    count(*) filter (where n_orders = 0 and recent between 1 and 2) as skeptics,
    count(*) filter (where recent = 0 and prior >= 3) as false_starts,
    count(*) filter (
        where emailable and created_days_ago >= 180 and last_180 = 0 and orders_395 = 0
    ) as dead_weight,
    count(*) filter (where n_orders > 0) as buyers,
    count(*) filter (where n_orders > 1) as repeat_buyers,
    (select count(*) from valid) as valid_orders,
    (select aov from account) as account_aov
from c
"""


def _sql(con: duckdb.DuckDBPyConnection, query: str) -> list[tuple]:
    return con.execute(query).fetchall()


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20,000 customers, no bad rows."""
    out = tmp_path_factory.mktemp("clean")
    generate(N_PERSONAS, AS_OF, years=3.0, seed=7, out_dir=out, dirty_fraction=0.0)
    return out


@pytest.fixture(scope="module")
def dirty(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3,000 customers with 1 % bad rows of each kind."""
    out = tmp_path_factory.mktemp("dirty")
    generate(3_000, AS_OF, years=2.0, seed=11, out_dir=out, dirty_fraction=0.01)
    return out


@pytest.fixture(scope="module")
def personas(clean: Path) -> dict[str, float]:
    con = duckdb.connect()
    query = PERSONAS_SQL.format(
        d=clean, as_of=AS_OF.isoformat(), fx=FX_VALUES, engagement=ENGAGEMENT_TYPES
    )
    cursor = con.execute(query)
    names = [column[0] for column in cursor.description]
    return dict(zip(names, cursor.fetchone(), strict=True))


def _truth(out: Path) -> dict:
    return json.loads((out / "true_parameters.json").read_text(encoding="utf-8"))


def test_files_follow_the_contract(clean: Path) -> None:
    for name in RAW_TABLES:
        schema = pq.read_schema(clean / f"{name}.parquet")
        assert schema.names == arrow_schema(name).names, name
        assert [f.type for f in schema] == [f.type for f in arrow_schema(name)], name


def test_true_parameters_json(clean: Path) -> None:
    truth = _truth(clean)
    assert set(truth["bgnbd"]) == {"r", "alpha", "a", "b"}
    assert set(truth["gamma_gamma"]) == {"p", "q", "v"}
    assert truth["time_unit"] == "day"
    assert truth["as_of_date"] == "2026-11-23"
    assert truth["seed"] == 7 and truth["n_customers"] == N_PERSONAS
    assert truth["reporting_currency"] == "EUR"
    assert truth["fx_rates_used"] == {"EUR": 1.0, "USD": 0.92, "GBP": 1.17, "CHF": 1.05}
    assert truth["injected_bad_rows"] == {}
    con = duckdb.connect()
    for name, rows in truth["rows"].items():
        assert _sql(con, f"select count(*) from '{clean}/{name}.parquet'")[0][0] == rows, name


def test_no_row_after_as_of_date_and_keys_unique(clean: Path) -> None:
    con = duckdb.connect()
    end = "timestamptz '2026-11-24 00:00:00+00'"
    for name, column in (
        ("orders", "ordered_at"),
        ("refunds", "refunded_at"),
        ("events", "occurred_at"),
        ("list_memberships", "subscribed_at"),
        ("suppressions", "suppressed_at"),
    ):
        assert (
            _sql(con, f"select count(*) from '{clean}/{name}.parquet' where {column} >= {end}")[0][
                0
            ]
            == 0
        ), name
    for name, key in (("customers", "customer_id"), ("orders", "order_id"), ("events", "event_id")):
        total, distinct = _sql(
            con, f"select count(*), count(distinct {key}) from '{clean}/{name}.parquet'"
        )[0]
        assert total == distinct, name


def test_valid_orders_are_exactly_the_true_process(clean: Path, personas: dict[str, float]) -> None:
    truth = _truth(clean)
    assert personas["valid_orders"] == truth["process"]["orders"]
    assert personas["buyers"] == truth["process"]["buyers"]
    assert personas["repeat_buyers"] == truth["process"]["repeat_buyers"]


def test_realistic_shop(clean: Path, personas: dict[str, float]) -> None:
    buyers = personas["buyers"]
    assert 0.70 < buyers / N_PERSONAS < 0.80  # about 25 % never order
    assert 0.40 <= personas["repeat_buyers"] / buyers <= 0.60
    assert 5 <= personas["valid_orders"] / N_PERSONAS <= 10
    gg = TRUE_GAMMA_GAMMA
    true_mean = gg.p * gg.v / (gg.q - 1)
    assert 60 <= personas["account_aov"] <= 90
    assert abs(personas["account_aov"] - true_mean) / true_mean < 0.1
    con = duckdb.connect()
    orders = f"'{clean}/orders.parquet'"
    n_orders = _sql(con, f"select count(*) from {orders}")[0][0]
    shares = dict(
        _sql(
            con,
            f"""select 'cancelled', avg((status = 'cancelled')::int) from {orders}
            union all select 'pos', avg((channel = 'pos')::int) from {orders}
            union all select 'subscription', avg(is_subscription::int) from {orders}
            union all select 'zero', avg((amount = 0)::int) from {orders}
            union all select 'eur', avg((currency = 'EUR')::int) from {orders}""",
        )
    )
    assert 0.02 < shares["cancelled"] < 0.04
    assert 0.08 < shares["pos"] < 0.12
    assert 0.035 < shares["subscription"] < 0.065
    assert 0.002 < shares["zero"] < 0.01
    assert 0.7 < shares["eur"] < 0.9
    assert {r[0] for r in _sql(con, f"select distinct currency from {orders}")} == set(FX_RATES)
    events = f"'{clean}/events.parquet'"
    n_events = _sql(con, f"select count(*) from {events}")[0][0]
    assert 35 <= n_events / N_PERSONAS <= 70
    assert n_orders > personas["valid_orders"]
    types = {r[0] for r in _sql(con, f"select distinct event_type from {events}")}
    assert types == set(EVENT_TYPES)
    delivered, opened, machine, clicked = _sql(
        con,
        f"""select count(*) filter (where event_type = 'email_delivered'),
            count(*) filter (where event_type = 'email_opened'),
            count(*) filter (where event_type = 'email_opened' and is_machine_open),
            count(*) filter (where event_type = 'email_clicked') from {events}""",
    )[0]
    assert 0.20 <= opened / delivered <= 0.30
    assert 0.1 < machine / opened < 0.5
    assert 0 < clicked < opened
    assert _sql(
        con,
        f"select count(*) from {events} where (event_type = 'email_opened') "
        "<> (is_machine_open is not null)",
    )[0] == (0,)
    no_email = _sql(con, f"select avg((email is null)::int) from '{clean}/customers.parquet'")
    assert 0.02 < no_email[0][0] < 0.1


def test_list_and_suppressions_are_consistent(clean: Path) -> None:
    con = duckdb.connect()
    d = clean
    reasons = dict(_sql(con, f"select reason, count(*) from '{d}/suppressions.parquet' group by 1"))
    assert set(reasons) == {"unsubscribed", "bounced", "spam_complaint", "manual"}
    # every unsubscribe event ends the membership and suppresses, at the same instant
    unsub_events = _sql(
        con, f"select count(*) from '{d}/events.parquet' where event_type = 'email_unsubscribed'"
    )[0][0]
    assert reasons["unsubscribed"] == unsub_events
    matched = _sql(
        con,
        f"""select count(*) from '{d}/events.parquet' as e
        inner join '{d}/list_memberships.parquet' as m
            on m.customer_id = e.customer_id and m.unsubscribed_at = e.occurred_at
        inner join '{d}/suppressions.parquet' as s
            on s.customer_id = e.customer_id and s.suppressed_at = e.occurred_at
                and s.reason = 'unsubscribed'
        where e.event_type = 'email_unsubscribed'""",
    )[0][0]
    assert matched == unsub_events
    spam = _sql(
        con, f"select count(*) from '{d}/events.parquet' where event_type = 'email_marked_spam'"
    )[0][0]
    bounced = _sql(
        con, f"select count(*) from '{d}/events.parquet' where event_type = 'email_bounced'"
    )[0][0]
    assert reasons["spam_complaint"] == spam and reasons["bounced"] == bounced
    # no email is delivered after the recipient's suppression or membership end
    late = _sql(
        con,
        f"""select count(*) from '{d}/events.parquet' as e
        left join '{d}/suppressions.parquet' as s on s.customer_id = e.customer_id
        left join '{d}/list_memberships.parquet' as m on m.customer_id = e.customer_id
        where e.event_type = 'email_delivered'
            and (e.occurred_at > s.suppressed_at or e.occurred_at > m.unsubscribed_at
                 or e.occurred_at < m.subscribed_at or m.customer_id is null)""",
    )[0][0]
    assert late == 0
    members_without_email = _sql(
        con,
        f"""select count(*) from '{d}/list_memberships.parquet' as m
        inner join '{d}/customers.parquet' as c using (customer_id) where c.email is null""",
    )[0][0]
    assert members_without_email == 0


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_persona_is_non_empty(personas: dict[str, float], persona: str) -> None:
    assert personas[persona] > 0, f"{persona} is empty on {N_PERSONAS:,} customers"


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    def digest(out: Path) -> dict[str, str]:
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.iterdir())}

    first = generate(1_500, AS_OF, seed=3, out_dir=tmp_path / "a", dirty_fraction=0.001)
    second = generate(1_500, AS_OF, seed=3, out_dir=tmp_path / "b", dirty_fraction=0.001)
    other = generate(1_500, AS_OF, seed=4, out_dir=tmp_path / "c", dirty_fraction=0.001)
    assert first.rows == second.rows
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    assert digest(tmp_path / "a")["orders.parquet"] != digest(tmp_path / "c")["orders.parquet"]
    assert other.rows["customers"] == first.rows["customers"]


def test_injected_bad_rows_match_their_counts(dirty: Path) -> None:
    injected = _truth(dirty)["injected_bad_rows"]
    con = duckdb.connect()
    d = dirty

    def one(query: str) -> int:
        return _sql(con, query)[0][0]

    def exact_duplicates(name: str) -> int:
        path = f"'{d}/{name}.parquet'"
        return one(
            f"select count(*) - (select count(*) from (select distinct * from {path})) from {path}"
        )

    assert exact_duplicates("customers") == injected["customers"]["exact_duplicate"] > 0
    assert exact_duplicates("orders") == injected["orders"]["exact_duplicate"] > 0
    assert exact_duplicates("events") == injected["events"]["exact_duplicate"] > 0
    orders = f"'{d}/orders.parquet'"
    conflicts = one(
        f"select count(*) from (select order_id from {orders} "
        "group by 1 having count(distinct amount) > 1)"
    )
    assert conflicts == injected["orders"]["key_conflict"] > 0
    assert (
        one(f"select count(*) from {orders} where amount < 0")
        == injected["orders"]["negative_amount"]
    )
    assert (
        one(f"select count(*) from {orders} where currency = 'XXX'")
        == injected["orders"]["unknown_currency"]
    )
    assert (
        one(f"select count(*) from {orders} where customer_id is null")
        == injected["orders"]["missing_customer_id"]
    )
    end = "timestamptz '2026-11-24 00:00:00+00'"
    assert (
        one(f"select count(*) from {orders} where ordered_at >= {end}")
        == injected["orders"]["after_as_of_date"]
    )
    events = f"'{d}/events.parquet'"
    assert (
        one(f"select count(*) from {events} where occurred_at >= {end}")
        == injected["events"]["after_as_of_date"]
    )
    known = ", ".join(f"'{t}'" for t in EVENT_TYPES)
    assert (
        one(f"select count(*) from {events} where event_type not in ({known})")
        == injected["events"]["unknown_event_type"]
    )
    refunds = f"'{d}/refunds.parquet'"
    assert (
        one(f"select count(*) from {refunds} where order_id not in (select order_id from {orders})")
        == injected["refunds"]["orphan"]
    )
    exceeding = one(
        f"""select count(*) from (
            select r.order_id from {refunds} as r
            inner join (select distinct order_id, amount from {orders}) as o using (order_id)
            group by r.order_id having sum(r.amount) > min(o.amount))"""
    )
    assert exceeding == injected["refunds"]["exceeds_order"] > 0
    # bad rows never touch the true process: without them, valid orders equal its orders
    truth = _truth(d)
    valid = one(
        f"""with fx(currency, rate) as (values {FX_VALUES}),
        clean_orders as (
            select distinct * from {orders}
            where ordered_at < {end} and customer_id is not null and amount >= 0
                and order_id not in (select order_id from {orders} group by 1
                                     having count(distinct amount) > 1)),
        refunded as (select order_id, sum(amount) as amount from {refunds} group by 1)
        select count(*) from clean_orders as o inner join fx using (currency)
        left join refunded as r using (order_id)
        where o.status = 'placed' and o.amount - coalesce(r.amount, 0) > 0"""
    )
    assert valid == truth["process"]["orders"]


def test_csv_format(tmp_path: Path) -> None:
    summary = generate(500, AS_OF, seed=5, out_dir=tmp_path, fmt="csv", dirty_fraction=0.0)
    con = duckdb.connect()
    for name, rows in summary.rows.items():
        path = tmp_path / f"{name}.csv"
        header = path.read_text(encoding="utf-8").splitlines()[0]
        assert header == ",".join(f'"{c}"' for c in arrow_schema(name).names)
        assert _sql(con, f"select count(*) from read_csv('{path}')")[0][0] == rows
    amount_type = _sql(con, f"describe select amount from read_csv('{tmp_path}/orders.csv')")
    assert amount_type[0][1].startswith("DECIMAL") or amount_type[0][1] == "DOUBLE"


def test_cli_generate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "raw"
    argv = ["generate", "--customers", "300", "--as-of-date", "2026-11-23", "--years", "1"]
    code = cli.main([*argv, "--seed", "1", "--out", str(out), "--dirty-fraction", "0"])
    assert code == 0
    captured = capsys.readouterr()
    assert "orders" in captured.out and "rows" in captured.out
    assert "block 1/1" in captured.err
    assert {p.name for p in out.iterdir()} == {f"{n}.parquet" for n in RAW_TABLES} | {
        "true_parameters.json"
    }
    assert _truth(out)["as_of_date"] == "2026-11-23"


def test_cli_rejects_bad_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["generate", "--customers", "0", "--out", str(tmp_path)]) == 2
    assert "--customers" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["generate", "--as-of-date", "23/11/2026"])
    assert cli.main([]) == 2


def test_write_table_coerces_a_dataframe_to_the_contract(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "extra": [1, 2],
            "order_id": ["a", "b"],
            "customer_id": ["c1", None],
            "ordered_at": ["2024-01-01T10:00:00+02:00", "2024-01-02 00:00:00"],
            "amount": [12.345, None],
            "currency": ["EUR", "USD"],
            "status": ["placed", "cancelled"],
            "channel": ["online", "pos"],
            "is_subscription": [True, False],
        }
    )
    path = write_table(frame, tmp_path, "orders")
    assert path == tmp_path / "orders.parquet"
    table = pq.read_table(path)
    assert table.schema == arrow_schema("orders")
    assert table.column("amount").to_pylist() == [Decimal("12.35"), None]
    assert [t.isoformat() for t in table.column("ordered_at").to_pylist()] == [
        "2024-01-01T08:00:00+00:00",
        "2024-01-02T00:00:00+00:00",
    ]
    with pytest.raises(ValueError, match="table orders: missing column"):
        write_table(frame.drop(columns=["currency"]), tmp_path / "x", "orders")
    with pytest.raises(ValueError, match="table orders, column ordered_at"):
        write_table(frame.assign(ordered_at=["soon", "later"]), tmp_path / "x", "orders")
    assert not (tmp_path / "x" / "orders.parquet").exists()
    with pytest.raises(ValueError, match="unknown raw table"):
        write_table(frame, tmp_path, "payments")

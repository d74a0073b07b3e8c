"""Tests of the CDNOW loader: every line of the file becomes one order, nothing else changes."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from clv_segments import cli
from clv_segments.demo.cdnow import cdnow_path, load_cdnow, read_cdnow
from clv_segments.demo.rawfiles import arrow_schema

EXPECTED_CUSTOMERS = {"master": 23_570, "sample": 2_357}


def _data_lines(path: Path) -> list[list[str]]:
    """Purchase lines of a CDNOW file, read independently of the loader."""
    lines = [line.split() for line in path.read_text(encoding="ascii").splitlines()]
    return [fields for fields in lines if fields and fields[0].isdigit()]


@pytest.fixture(scope="module", params=["master", "sample"])
def loaded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp(f"cdnow_{request.param}")
    summary = load_cdnow(out, variant=request.param)
    return request.param, out, summary


def test_rows_match_the_file(loaded) -> None:
    variant, out, summary = loaded
    lines = _data_lines(cdnow_path(variant))
    con = duckdb.connect()
    n_orders, n_distinct_ids, n_customers_in_orders = con.execute(
        f"select count(*), count(distinct order_id), count(distinct customer_id) "
        f"from '{out}/orders.parquet'"
    ).fetchone()
    assert n_orders == len(lines) == summary.rows["orders"]
    assert n_distinct_ids == n_orders
    assert n_customers_in_orders == EXPECTED_CUSTOMERS[variant]
    n_customers, n_distinct = con.execute(
        f"select count(*), count(distinct customer_id) from '{out}/customers.parquet'"
    ).fetchone()
    assert n_customers == n_distinct == EXPECTED_CUSTOMERS[variant] == summary.rows["customers"]
    total_cents = sum(round(float(fields[-1]) * 100) for fields in lines)
    assert con.execute(f"select sum(amount) * 100 from '{out}/orders.parquet'").fetchone()[0] == (
        total_cents
    )
    zero = sum(1 for fields in lines if float(fields[-1]) == 0)
    assert summary.zero_amount_orders == zero > 0


def test_dates_and_constants(loaded) -> None:
    variant, out, summary = loaded
    con = duckdb.connect()
    first, last, midnight = con.execute(
        f"""select min(cast(timezone('UTC', ordered_at) as date)),
            max(cast(timezone('UTC', ordered_at) as date)),
            bool_and(ordered_at = date_trunc('day', timezone('UTC', ordered_at)) at time zone 'UTC')
        from '{out}/orders.parquet'"""
    ).fetchone()
    assert first == date(1997, 1, 1) and last == date(1998, 6, 30)
    assert midnight
    assert (summary.first_date, summary.last_date) == (first, last)
    constants = con.execute(
        f"""select distinct currency, status, channel, is_subscription
        from '{out}/orders.parquet'"""
    ).fetchall()
    assert constants == [("USD", "placed", "online", False)]
    customers = con.execute(
        f"""select distinct email, country_code, region, city, accepts_marketing
        from '{out}/customers.parquet'"""
    ).fetchall()
    assert customers == [(None, "US", None, None, False)]
    # created_at is the first purchase date
    mismatched = con.execute(
        f"""select count(*) from '{out}/customers.parquet' as c
        inner join (select customer_id, min(ordered_at) as first_at
                    from '{out}/orders.parquet' group by 1) as o using (customer_id)
        where c.created_at <> o.first_at"""
    ).fetchone()[0]
    assert mismatched == 0
    for name in ("customers", "orders"):
        assert pq.read_schema(out / f"{name}.parquet") == arrow_schema(name)
    assert sorted(p.name for p in out.iterdir()) == [
        "customers.parquet",
        "dataset.json",
        "orders.parquet",
    ]


def test_dataset_json(loaded) -> None:
    variant, out, summary = loaded
    meta = json.loads((out / "dataset.json").read_text(encoding="utf-8"))
    assert meta["dataset"] == f"cdnow_{variant}"
    assert meta["calibration_end"] == "1997-09-30"
    assert meta["holdout_end"] == "1998-06-30"
    assert meta["first_purchase_cohort"] == ["1997-01-01", "1997-03-31"]
    assert meta["rows"] == summary.rows
    assert meta["zero_amount_orders"] == summary.zero_amount_orders


def test_order_ids_are_deterministic(loaded, tmp_path: Path) -> None:
    variant, out, _ = loaded
    load_cdnow(tmp_path, variant=variant)
    assert (tmp_path / "orders.parquet").read_bytes() == (out / "orders.parquet").read_bytes()
    first = (
        duckdb.connect()
        .execute(f"select order_id, customer_id from '{out}/orders.parquet' limit 1")
        .fetchone()
    )
    assert first[0].startswith(first[1] + "-")


def test_sample_customers_are_master_customers(tmp_path: Path) -> None:
    sample = {fields[0] for fields in _data_lines(cdnow_path("sample"))}
    master = {fields[0] for fields in _data_lines(cdnow_path("master"))}
    assert sample <= master
    lines = read_cdnow(cdnow_path("sample"), "sample")
    assert set(lines.customer_id) == sample


def test_malformed_line_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "CDNOW_master.txt"
    bad.write_text(" customer_id date n dollars\n 00001 19970101 1 11.77\n 00002 1997011 1 2.00\n")
    with pytest.raises(ValueError, match=r"CDNOW_master.txt line 3: date '1997011'"):
        read_cdnow(bad, "master")


def test_unknown_variant() -> None:
    with pytest.raises(ValueError, match="variant"):
        cdnow_path("full")


def test_cli_load_cdnow(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["load-cdnow", "--out", str(tmp_path), "--variant", "sample"])
    assert code == 0
    out = capsys.readouterr().out
    assert "2,357" in out and "zero-amount orders" in out
    assert (tmp_path / "dataset.json").is_file()

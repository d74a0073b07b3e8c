"""Load the real CDNOW data that ships inside ``lifetimes`` into the raw contract's tables.

Two files sit in ``lifetimes/datasets``:

- ``CDNOW_master.txt``: 23,570 customers of the 1997 Q1 cohort, every purchase until 1998-06-30;
  a header line, then ``customer_id  date(YYYYMMDD)  number_of_cds  dollar_value``;
- ``CDNOW_sample.txt``: the classic 1/10 sample (2,357 customers); no header, and one more
  column: ``customer_id  sample_id  date  number_of_cds  dollar_value``, where ``customer_id``
  is the master file's id (kept here, so both variants name a customer alike) and ``sample_id``
  renumbers the sample 1..2357.

``load_cdnow`` writes ``customers`` and ``orders`` (the other tables are optional in the
contract) and ``dataset.json`` with the calibration/holdout split used in the literature
(Fader, Hardie & Lee 2005) and the parameters published for the sample in weeks.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa

from clv_segments.demo.rawfiles import (
    FILE_FORMATS,
    arrow_schema,
    money_from_cents,
    timestamps_from_micros,
    write_table,
)

VARIANTS: dict[str, str] = {"master": "CDNOW_master.txt", "sample": "CDNOW_sample.txt"}
CALIBRATION_END = "1997-09-30"
HOLDOUT_END = "1998-06-30"
FIRST_PURCHASE_COHORT = ("1997-01-01", "1997-03-31")
# Published on the 2,357-customer sample, time unit one week, calibration 1997-01-01..1997-09-30
# (39 weeks); lifetimes reproduces them in its documentation.
PUBLISHED_REFERENCE = {
    "source": "Fader, Hardie & Lee (2005), CDNOW sample, weeks, 39-week calibration",
    "bgnbd": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
    "gamma_gamma": {"p": 6.25, "q": 3.74, "v": 15.44},
}

_DAY_US = 86_400_000_000
_EPOCH = date(1970, 1, 1)


@dataclass
class CdnowSummary:
    """What ``load_cdnow`` wrote."""

    dataset: str
    source: Path
    out_dir: Path
    rows: dict[str, int]
    zero_amount_orders: int
    first_date: date
    last_date: date


def cdnow_path(variant: str = "master") -> Path:
    """Path of the CDNOW file inside the installed ``lifetimes`` package (not imported)."""
    if variant not in VARIANTS:
        raise ValueError(f"variant (--variant) must be one of {', '.join(VARIANTS)}: {variant!r}")
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the lifetimes package is not installed; it ships the CDNOW data")
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / VARIANTS[variant]
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found in the installed lifetimes package")
    return path


@dataclass
class _Lines:
    line_no: np.ndarray
    customer_id: list[str]
    day: np.ndarray  # days since 1970-01-01
    cents: np.ndarray


def _parse_day(text: str, where: str) -> int:
    if len(text) != 8 or not text.isdigit():
        raise ValueError(f"{where}: date {text!r} is not YYYYMMDD")
    try:
        value = date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError as exc:
        raise ValueError(f"{where}: date {text!r}: {exc}") from None
    return (value - _EPOCH).days


def _parse_cents(text: str, where: str) -> int:
    whole, _, frac = text.partition(".")
    if not whole.isdigit() or not (frac == "" or frac.isdigit()) or len(frac) > 2:
        raise ValueError(f"{where}: dollar value {text!r} is not a non-negative amount")
    return int(whole) * 100 + int((frac + "00")[:2])


def read_cdnow(path: Path, variant: str) -> _Lines:
    """Parse one CDNOW file; errors name the file and line. Header and blank lines are skipped."""
    n_fields = 4 if variant == "master" else 5
    line_nos: list[int] = []
    customers: list[str] = []
    days: list[int] = []
    cents: list[int] = []
    with path.open(encoding="ascii") as handle:
        for line_no, raw in enumerate(handle, start=1):
            fields = raw.split()
            if not fields or not fields[0].isdigit():  # blank line or the master's header
                continue
            where = f"{path.name} line {line_no}"
            if len(fields) != n_fields:
                raise ValueError(f"{where}: expected {n_fields} fields, found {len(fields)}")
            line_nos.append(line_no)
            customers.append(fields[0])
            days.append(_parse_day(fields[-3], where))
            cents.append(_parse_cents(fields[-1], where))
    if not line_nos:
        raise ValueError(f"{path}: no purchase lines found")
    return _Lines(
        np.array(line_nos, dtype=np.int64),
        customers,
        np.array(days, dtype=np.int64),
        np.array(cents, dtype=np.int64),
    )


def load_cdnow(out_dir: str | Path, variant: str = "master", fmt: str = "parquet") -> CdnowSummary:
    """Write CDNOW ``customers`` and ``orders`` (+ ``dataset.json``) into ``out_dir``.

    One order per purchase line: ``order_id`` = ``<customer_id>-<line number in the file>``,
    ``ordered_at`` = the date at 00:00 UTC, amount in USD, status placed, channel online.
    Customers: ``created_at`` = the first purchase date, country US, no email, no region/city,
    not accepting marketing. Lines with a 0.00 amount are kept: they are zero-value orders in
    the contract and do not count as orders; their number is in the summary.
    """
    if fmt not in FILE_FORMATS:
        raise ValueError(f"fmt (--format) must be one of {', '.join(FILE_FORMATS)}: {fmt!r}")
    source = cdnow_path(variant)
    lines = read_cdnow(source, variant)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    n = len(lines.line_no)

    customer_ids = pa.array(lines.customer_id, type=pa.string())
    line_labels = [f"{c}-{i:05d}" for c, i in zip(lines.customer_id, lines.line_no, strict=True)]
    orders = pa.table(
        {
            "order_id": pa.array(line_labels, type=pa.string()),
            "customer_id": customer_ids,
            "ordered_at": timestamps_from_micros(lines.day * _DAY_US),
            "amount": money_from_cents(lines.cents),
            "currency": pa.array(["USD"] * n, type=pa.string()),
            "status": pa.array(["placed"] * n, type=pa.string()),
            "channel": pa.array(["online"] * n, type=pa.string()),
            "is_subscription": pa.array(np.zeros(n, dtype=bool)),
        },
        schema=arrow_schema("orders"),
    )

    ids = np.array(lines.customer_id)
    unique_ids = np.unique(ids)
    first_day = np.full(len(unique_ids), np.iinfo(np.int64).max)
    np.minimum.at(first_day, np.searchsorted(unique_ids, ids), lines.day)
    m = len(unique_ids)
    customers = pa.table(
        {
            "customer_id": pa.array(unique_ids.tolist(), type=pa.string()),
            "email": pa.nulls(m, pa.string()),
            "created_at": timestamps_from_micros(first_day * _DAY_US),
            "country_code": pa.array(["US"] * m, type=pa.string()),
            "region": pa.nulls(m, pa.string()),
            "city": pa.nulls(m, pa.string()),
            "accepts_marketing": pa.array(np.zeros(m, dtype=bool)),
        },
        schema=arrow_schema("customers"),
    )
    write_table(customers, out, "customers", fmt)
    write_table(orders, out, "orders", fmt)

    zero = int((lines.cents == 0).sum())
    summary = CdnowSummary(
        dataset=f"cdnow_{variant}",
        source=source,
        out_dir=out,
        rows={"customers": m, "orders": n},
        zero_amount_orders=zero,
        first_date=_EPOCH.fromordinal(_EPOCH.toordinal() + int(lines.day.min())),
        last_date=_EPOCH.fromordinal(_EPOCH.toordinal() + int(lines.day.max())),
    )
    meta = {
        "dataset": summary.dataset,
        "source_file": f"lifetimes/datasets/{source.name}",
        "calibration_end": CALIBRATION_END,
        "holdout_end": HOLDOUT_END,
        "first_purchase_cohort": list(FIRST_PURCHASE_COHORT),
        "currency": "USD",
        "rows": summary.rows,
        "zero_amount_orders": zero,
        "first_order_date": summary.first_date.isoformat(),
        "last_order_date": summary.last_date.isoformat(),
        "published_reference": PUBLISHED_REFERENCE,
    }
    (out / "dataset.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return summary

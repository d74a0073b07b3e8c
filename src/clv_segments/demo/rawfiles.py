"""The raw input contract as files: table names, columns, Arrow types, and a writer.

The dbt project reads one folder holding files named exactly ``<table>.parquet`` or
``<table>.csv`` (see DESIGN.md, "Input contract"). Everything that writes such a folder (the
demo data generator, the CDNOW loader) goes through this module, so column order and types are
written once:

- ``RAW_TABLES`` describes the six tables (``customers`` and ``orders`` are required, the others
  optional);
- ``arrow_schema(name)`` gives the Arrow schema a file must have;
- ``write_table(df, out_dir, name, fmt)`` writes a whole pandas DataFrame or Arrow table;
- ``TableWriter`` appends chunks to one file, for tables too large to hold in memory.

Money is ``decimal(18,2)``; timestamps are ``timestamp[us, tz=UTC]``. Every Arrow field is
nullable on purpose: raw data may hold bad rows, and rejecting them with a reason is staging's job.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

FileFormat = Literal["parquet", "csv"]
FILE_FORMATS: tuple[str, ...] = ("parquet", "csv")

TIMESTAMP = pa.timestamp("us", tz="UTC")
MONEY = pa.decimal128(18, 2)

EVENT_TYPES: tuple[str, ...] = (
    "email_delivered",
    "email_opened",
    "email_clicked",
    "email_bounced",
    "email_unsubscribed",
    "email_marked_spam",
    "site_active",
    "product_viewed",
    "cart_added",
    "checkout_started",
)
ORDER_STATUSES: tuple[str, ...] = ("placed", "cancelled")
ORDER_CHANNELS: tuple[str, ...] = ("online", "pos")
SUPPRESSION_REASONS: tuple[str, ...] = ("unsubscribed", "bounced", "spam_complaint", "manual")


@dataclass(frozen=True)
class RawColumn:
    """One column of a raw table: name, Arrow type, whether null is a legitimate value."""

    name: str
    type: pa.DataType
    nullable: bool = False


@dataclass(frozen=True)
class RawTable:
    """One raw table of the input contract."""

    name: str
    columns: tuple[RawColumn, ...]
    required: bool
    key: tuple[str, ...]

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]


def _col(name: str, type_: pa.DataType, nullable: bool = False) -> RawColumn:
    return RawColumn(name, type_, nullable)


RAW_TABLES: dict[str, RawTable] = {
    table.name: table
    for table in (
        RawTable(
            "customers",
            (
                _col("customer_id", pa.string()),
                _col("email", pa.string(), nullable=True),
                _col("created_at", TIMESTAMP),
                _col("country_code", pa.string()),
                _col("region", pa.string(), nullable=True),
                _col("city", pa.string(), nullable=True),
                _col("accepts_marketing", pa.bool_()),
            ),
            required=True,
            key=("customer_id",),
        ),
        RawTable(
            "orders",
            (
                _col("order_id", pa.string()),
                _col("customer_id", pa.string()),
                _col("ordered_at", TIMESTAMP),
                _col("amount", MONEY),
                _col("currency", pa.string()),
                _col("status", pa.string()),
                _col("channel", pa.string()),
                _col("is_subscription", pa.bool_()),
            ),
            required=True,
            key=("order_id",),
        ),
        RawTable(
            "refunds",
            (
                _col("refund_id", pa.string()),
                _col("order_id", pa.string()),
                _col("refunded_at", TIMESTAMP),
                _col("amount", MONEY),
            ),
            required=False,
            key=("refund_id",),
        ),
        RawTable(
            "events",
            (
                _col("event_id", pa.string()),
                _col("customer_id", pa.string()),
                _col("event_type", pa.string()),
                _col("occurred_at", TIMESTAMP),
                _col("campaign_id", pa.string(), nullable=True),
                _col("is_machine_open", pa.bool_(), nullable=True),
            ),
            required=False,
            key=("event_id",),
        ),
        RawTable(
            "list_memberships",
            (
                _col("list_id", pa.string()),
                _col("customer_id", pa.string()),
                _col("subscribed_at", TIMESTAMP),
                _col("unsubscribed_at", TIMESTAMP, nullable=True),
            ),
            required=False,
            key=("list_id", "customer_id", "subscribed_at"),
        ),
        RawTable(
            "suppressions",
            (
                _col("customer_id", pa.string()),
                _col("suppressed_at", TIMESTAMP),
                _col("reason", pa.string()),
            ),
            required=False,
            key=("customer_id", "suppressed_at", "reason"),
        ),
    )
}


def raw_table(name: str) -> RawTable:
    """The contract of raw table ``name``; ValueError naming the table if it is unknown."""
    try:
        return RAW_TABLES[name]
    except KeyError:
        known = ", ".join(RAW_TABLES)
        raise ValueError(f"unknown raw table {name!r}; the contract has: {known}") from None


def arrow_schema(name: str) -> pa.Schema:
    """Arrow schema of raw table ``name``, columns in contract order, every field nullable."""
    return pa.schema([pa.field(c.name, c.type, nullable=True) for c in raw_table(name).columns])


def table_path(out_dir: str | Path, name: str, fmt: str = "parquet") -> Path:
    """``<out_dir>/<name>.<fmt>``, the file name the dbt project looks for."""
    _check_format(fmt)
    raw_table(name)
    return Path(out_dir) / f"{name}.{fmt}"


def _check_format(fmt: str) -> None:
    if fmt not in FILE_FORMATS:
        raise ValueError(f"unknown file format {fmt!r}; use one of: {', '.join(FILE_FORMATS)}")


# --- building Arrow arrays ------------------------------------------------------------------


def money_from_cents(cents: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """decimal(18,2) array from integer cents, exactly. ``mask``: True means null."""
    cents = np.ascontiguousarray(cents, dtype=np.int64)
    words = np.empty((len(cents), 2), dtype=np.int64)  # little-endian 128-bit two's complement
    words[:, 0] = cents
    words[:, 1] = np.where(cents < 0, -1, 0)
    validity = None
    if mask is not None and mask.any():
        validity = pa.array(~np.asarray(mask, dtype=bool)).buffers()[1]
    return pa.Array.from_buffers(MONEY, len(cents), [validity, pa.py_buffer(words.tobytes())])


def timestamps_from_micros(micros: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """timestamp[us, UTC] array from int64 microseconds since the Unix epoch."""
    return pa.array(np.asarray(micros, dtype=np.int64), type=TIMESTAMP, mask=mask)


# --- coercing a DataFrame to the contract -----------------------------------------------------


def _money_column(values: pd.Series, where: str) -> pa.Array:
    if pd.api.types.is_bool_dtype(values.dtype):
        raise ValueError(f"{where}: booleans are not amounts")
    try:
        if pd.api.types.is_numeric_dtype(values.dtype):
            # numbers are rounded to cents half away from zero as printed (12.345 -> 12.35),
            # not as stored in binary (12.3449999...)
            printed = pa.array(values.astype("float64"), from_pandas=True).cast(pa.string())
            exact = printed.cast(pa.decimal128(38, 9))
            return pc.round(exact, ndigits=2, round_mode="half_towards_infinity").cast(MONEY)
        # Decimal objects or numeric strings
        return pa.array(values.astype(object).where(values.notna(), None)).cast(MONEY)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise ValueError(f"{where}: cannot read as decimal(18,2): {exc}") from exc


def _timestamp_column(values: pd.Series, where: str) -> pa.Array:
    """Datetimes (naive = UTC, aware = converted to UTC) or ISO 8601 strings."""
    try:
        if pd.api.types.is_datetime64_any_dtype(values.dtype):
            parsed = pd.to_datetime(values, utc=True)
        else:
            parsed = pd.to_datetime(values, utc=True, format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{where}: cannot read as a UTC timestamp: {exc}") from exc
    return pa.array(parsed, type=TIMESTAMP)


def to_contract_table(data: pd.DataFrame | pa.Table, name: str) -> pa.Table:
    """Select and order the contract's columns of ``name`` and cast them to the contract types.

    Naive timestamps are taken as UTC; float money is rounded to cents (half away from zero).
    Raises ValueError naming the table and column when a column is missing or cannot be cast.
    """
    table = raw_table(name)
    present = data.column_names if isinstance(data, pa.Table) else list(data.columns)
    missing = [c for c in table.column_names if c not in present]
    if missing:
        raise ValueError(f"table {name}: missing column(s) {', '.join(missing)}")
    arrays: list[pa.Array] = []
    for column in table.columns:
        where = f"table {name}, column {column.name}"
        if isinstance(data, pa.Table):
            values = data.column(column.name)
            try:
                arrays.append(values.cast(column.type))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
                raise ValueError(f"{where}: cannot cast {values.type} to {column.type}") from exc
            continue
        series = data[column.name]
        if column.type == MONEY:
            arrays.append(_money_column(series, where))
        elif column.type == TIMESTAMP:
            arrays.append(_timestamp_column(series, where))
        else:
            try:
                arrays.append(
                    pa.array(series.astype(object).where(series.notna(), None)).cast(column.type)
                    if len(series)
                    else pa.array([], type=column.type)
                )
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
                raise ValueError(f"{where}: cannot cast to {column.type}: {exc}") from exc
    return pa.Table.from_arrays(arrays, schema=arrow_schema(name))


# --- writing ----------------------------------------------------------------------------------


class TableWriter:
    """Append chunks of one raw table to ``<out_dir>/<name>.<fmt>``; use as a context manager.

    Chunks are coerced to the contract (``to_contract_table``). A table with no chunk written
    still produces a file with the header / schema only, so readers always find it.
    """

    def __init__(self, out_dir: str | Path, name: str, fmt: str = "parquet") -> None:
        self.path = table_path(out_dir, name, fmt)
        self.name = name
        self.fmt = fmt
        self.schema = arrow_schema(name)
        self.rows = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "parquet":
            self._writer: pq.ParquetWriter | pa_csv.CSVWriter = pq.ParquetWriter(
                self.path, self.schema, compression="zstd"
            )
        else:
            self._writer = pa_csv.CSVWriter(self.path, self.schema)

    def write(self, data: pd.DataFrame | pa.Table) -> None:
        table = to_contract_table(data, self.name)
        if table.num_rows:
            self._writer.write_table(table)
            self.rows += table.num_rows

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def write_table(
    df: pd.DataFrame | pa.Table, out_dir: str | Path, name: str, fmt: str = "parquet"
) -> Path:
    """Write one whole raw table to ``<out_dir>/<name>.parquet`` (or ``.csv``); return the path.

    Columns are written in contract order with the contract's types; extra columns are dropped.
    """
    table = to_contract_table(df, name)  # fails before any file is created
    with TableWriter(out_dir, name, fmt) as writer:
        writer.write(table)
    return writer.path

"""The embedded DuckDB warehouse, read-only: where it is, which marts it holds.

Consumers (the dashboard, the exports, the orchestrator, `clv-segments where`) open the file
read-only and check which marts exist first, so a mart that is not built yet is reported by name
(e.g. "segments not built") instead of a SQL error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

DEFAULT_DATABASE = "data/clv_segments.duckdb"
MARTS_SCHEMA = "marts"


def default_database() -> Path:
    """The DuckDB file dbt writes to: env CLV_DUCKDB_PATH, else data/clv_segments.duckdb."""
    return Path(os.environ.get("CLV_DUCKDB_PATH", DEFAULT_DATABASE))


def connect_read_only(database: str | Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the warehouse file; FileNotFoundError when it does not exist."""
    path = Path(database)
    if not path.is_file():
        raise FileNotFoundError(
            f"warehouse file {path} not found: build the project first (make build, or dbt build "
            "with CLV_DUCKDB_PATH pointing at it)"
        )
    return duckdb.connect(str(path), read_only=True)


def relation_exists(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    """True when ``schema.name`` is a table or view of the warehouse."""
    (count,) = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchone()
    return count > 0


@dataclass(frozen=True)
class MartTable:
    name: str
    rows: int
    columns: int


def list_marts(database: Path) -> list[MartTable]:
    """The tables of the marts schema with their row and column counts."""
    with connect_read_only(database) as con:
        names = [
            row[0]
            for row in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = ? order by 1",
                [MARTS_SCHEMA],
            ).fetchall()
        ]
        tables = []
        for name in names:
            rows = con.execute(f'select count(*) from {MARTS_SCHEMA}."{name}"').fetchone()[0]
            columns = con.execute(
                "select count(*) from information_schema.columns "
                "where table_schema = ? and table_name = ?",
                [MARTS_SCHEMA, name],
            ).fetchone()[0]
            tables.append(MartTable(name, int(rows), int(columns)))
    return tables


def describe(database: Path) -> str:
    """A short text telling where the marts are and how to query them."""
    tables = list_marts(database)
    lines = [f"The marts are in {database} (DuckDB), schema '{MARTS_SCHEMA}':", ""]
    lines += [
        f"  {MARTS_SCHEMA}.{t.name:<28} {t.rows:>12,} rows  {t.columns:>3} columns" for t in tables
    ]
    lines += [
        "",
        "Query them with:",
        f" .venv/bin/python -c \"import duckdb; con = duckdb.connect('{database}', read_only=True);"
        f" print(con.sql('select churn_risk, count(*) from {MARTS_SCHEMA}.customer_predictions"
        " group by 1'))\"",
        f"  or any DuckDB client / BI tool pointed at {database.resolve()}",
    ]
    return "\n".join(lines)

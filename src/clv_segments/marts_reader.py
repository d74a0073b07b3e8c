"""Read-only access to the marts for the dashboard, the exports and the orchestrator.

Consumers open the warehouse file read-only and check which marts exist first, so a mart that
is not built yet is reported by name (e.g. "segments not built") instead of a SQL error.
Where the file is by default: ``clv_segments.warehouse.default_database``.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

__all__ = ["connect_read_only", "relation_exists"]


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

"""One way into pandas for dbt Python models, whatever the warehouse.

dbt hands a Python model its inputs as the adapter's native frame: a DuckDB relation on
dbt-duckdb, a Spark DataFrame on Databricks / Spark, a Snowpark DataFrame on Snowflake. The CLV
maths only needs the (small) cell table in pandas, so every Python model reads its input through
`to_pandas`, and moving warehouse means changing the dbt profile, not the model.

The check is duck-typed on purpose: importing pyspark or snowpark here would make them
dependencies of the package.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pandas as pd

__all__ = ["to_pandas"]


def _native_to_pandas(data: Any) -> pd.DataFrame:
    """Convert without touching column names; raise TypeError for anything unknown."""
    if isinstance(data, pd.DataFrame):
        return data
    # Spark (pyspark.sql.DataFrame, Databricks Connect): toPandas().
    if callable(getattr(data, "toPandas", None)):
        return data.toPandas()
    # Snowpark DataFrame (also polars and pyarrow tables): to_pandas().
    if callable(getattr(data, "to_pandas", None)):
        return data.to_pandas()
    # DuckDB relation (duckdb.DuckDBPyRelation), what dbt-duckdb's dbt.ref() returns: df().
    if callable(getattr(data, "df", None)):
        return data.df()
    kind = f"{type(data).__module__}.{type(data).__qualname__}"
    raise TypeError(
        f"to_pandas: cannot convert an object of type {kind} to a pandas DataFrame; expected a "
        "pandas DataFrame, a DuckDB relation (.df()), a Spark DataFrame (.toPandas()) or a "
        "Snowpark DataFrame (.to_pandas())"
    )


def to_pandas(data: Any) -> pd.DataFrame:
    """Return ``data`` as a pandas DataFrame with lower-case column names.

    Accepts a pandas DataFrame, a DuckDB relation (``.df()``), a Spark DataFrame
    (``.toPandas()``) or a Snowpark DataFrame (``.to_pandas()``). Column names are lower-cased
    because Snowflake returns unquoted identifiers in upper case; the models downstream always
    use lower-case names. Decimal columns (Spark, Snowpark) become float64, as DuckDB gives
    them. A pandas input is not modified (a renamed copy is returned).

    Raises:
        TypeError: ``data`` is none of the above (the message names its type), or the
            conversion did not produce a pandas DataFrame.
        ValueError: two columns differ only by case, so lower-casing would merge them.
    """
    frame = _native_to_pandas(data)
    if not isinstance(frame, pd.DataFrame):
        kind = f"{type(data).__module__}.{type(data).__qualname__}"
        raise TypeError(
            f"to_pandas: converting {kind} returned {type(frame).__qualname__}, not a pandas "
            "DataFrame"
        )
    lower = [str(column).lower() for column in frame.columns]
    duplicated = sorted({name for name in lower if lower.count(name) > 1})
    if duplicated:
        raise ValueError(
            "to_pandas: columns differ only by case and would collide once lower-cased: "
            + ", ".join(duplicated)
        )
    renamed = frame.copy(deep=False)
    renamed.columns = lower
    return _decimals_to_float(renamed)


def _decimals_to_float(frame: pd.DataFrame) -> pd.DataFrame:
    """Decimal columns as float64. DuckDB's ``.df()`` already gives floats for DECIMAL, but
    Spark's ``toPandas()`` (and Snowpark's) give object columns of ``decimal.Decimal``, which
    the CLV maths would carry as slow, inexact-mixing objects: every adapter hands the models
    the same float columns."""
    for column in frame.columns:
        values = frame[column]
        if values.dtype != object:
            continue
        present = values.dropna()
        if len(present) and all(isinstance(value, Decimal) for value in present):
            frame[column] = values.astype("float64")
    return frame

"""frames.to_pandas on every input a dbt Python model can receive."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from clv_segments.clv.frames import to_pandas

EXPECTED = pd.DataFrame({"frequency": [1, 0], "recency": [3.0, 0.0], "t": [10.0, 4.0]})


class FakeSparkFrame:
    """Quacks like pyspark.sql.DataFrame."""

    def toPandas(self) -> pd.DataFrame:  # noqa: N802 - Spark's name
        return pd.DataFrame({"FREQUENCY": [1, 0], "Recency": [3.0, 0.0], "T": [10.0, 4.0]})


class FakeSnowparkFrame:
    """Quacks like snowflake.snowpark.DataFrame (upper-case identifiers)."""

    def to_pandas(self) -> pd.DataFrame:
        return pd.DataFrame({"FREQUENCY": [1, 0], "RECENCY": [3.0, 0.0], "T": [10.0, 4.0]})


def test_pandas_input_lower_cased_without_mutation() -> None:
    source = pd.DataFrame({"frequency": [1, 0], "Recency": [3.0, 0.0], "T": [10.0, 4.0]})
    result = to_pandas(source)
    pd.testing.assert_frame_equal(result, EXPECTED)
    assert list(source.columns) == ["frequency", "Recency", "T"]


def test_duckdb_relation() -> None:
    connection = duckdb.connect()
    relation = connection.sql(
        "select * from (values (1, 3.0, 10.0), (0, 0.0, 4.0)) as cells(frequency, recency, T)"
    )
    result = to_pandas(relation)
    assert list(result.columns) == ["frequency", "recency", "t"]
    assert result["frequency"].tolist() == [1, 0]
    assert result["t"].tolist() == [10.0, 4.0]


@pytest.mark.parametrize("frame", [FakeSparkFrame(), FakeSnowparkFrame()])
def test_spark_and_snowpark_like_frames(frame: object) -> None:
    pd.testing.assert_frame_equal(to_pandas(frame), EXPECTED)


def test_unknown_type_is_named() -> None:
    with pytest.raises(TypeError, match=r"builtins\.list"):
        to_pandas([1, 2, 3])
    with pytest.raises(TypeError, match="Series"):
        to_pandas(pd.Series([1, 2]))


def test_conversion_that_returns_something_else_is_refused() -> None:
    class Broken:
        def to_pandas(self) -> dict:
            return {"a": [1]}

    with pytest.raises(TypeError, match="not a pandas DataFrame"):
        to_pandas(Broken())


def test_case_collision_is_refused() -> None:
    with pytest.raises(ValueError, match="frequency"):
        to_pandas(pd.DataFrame({"frequency": [1], "FREQUENCY": [2]}))


def test_decimal_columns_become_floats_as_duckdb_gives_them() -> None:
    # Spark's toPandas() (and Snowpark's) return decimal columns as decimal.Decimal objects
    from decimal import Decimal

    spark_like = pd.DataFrame({"Amount": [Decimal("60.26"), None], "label": ["a", "b"]})
    frame = to_pandas(spark_like)
    assert frame["amount"].dtype == "float64"
    assert frame["amount"].iloc[0] == 60.26 and pd.isna(frame["amount"].iloc[1])
    assert frame["label"].tolist() == ["a", "b"]
    assert spark_like["Amount"].dtype == object  # the input is not modified
    with duckdb.connect() as con:
        duckdb_frame = to_pandas(con.sql("select 60.26::decimal(18, 2) as amount"))
    assert duckdb_frame["amount"].dtype == frame["amount"].dtype

"""dbt Python models on open-source Spark: a submission helper that runs them in the session.

dbt-spark (1.11) submits Python models only to Databricks, through its REST API
(``submission_method``: ``all_purpose_cluster`` or ``job_cluster``). With the ``session`` method
the SQL already runs in a local ``SparkSession`` in the dbt process, so a Python model can run
there too: ``SessionPythonJobHelper.submit`` executes the compiled model (the model's code plus
dbt-spark's own wrapper, which calls ``model(dbt, spark)`` and writes the result with
``saveAsTable``) with ``spark`` bound to that session. ``register_session_helper`` adds it to the
adapter as the submission method ``session`` and makes it the default when the profile's method
is ``session``; ``clv-segments dbt <dbt arguments>`` (``run_dbt``) registers it and runs dbt
in-process through dbt's programmatic ``dbtRunner``. On Databricks the adapter's own methods
apply unchanged: a model with ``submission_method: all_purpose_cluster`` (or the default off the
session method) is submitted as before. Nothing here imports pyspark or dbt-spark until used.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["SessionPythonJobHelper", "register_session_helper", "run_dbt"]

SUBMISSION_METHOD = "session"


def _helper_class() -> type:
    from dbt.adapters.base import PythonJobHelper

    class SessionPythonJobHelper(PythonJobHelper):
        """Run a compiled dbt Python model in the active Spark session (method ``session``)."""

        def __init__(self, parsed_model: dict, credentials: Any) -> None:
            self.parsed_model = parsed_model
            self.credentials = credentials

        def submit(self, compiled_code: str) -> None:
            from pyspark.sql import SparkSession

            spark = SparkSession.getActiveSession()
            if spark is None:  # the same builder as dbt-spark's session cursor
                builder = SparkSession.builder.enableHiveSupport()
                for key, value in (self.credentials.server_side_parameters or {}).items():
                    builder = builder.config(key, value)
                spark = builder.getOrCreate()
            name = f"<dbt python model {self.parsed_model.get('unique_id', '?')}>"
            exec(compile(compiled_code, name, "exec"), {"spark": spark, "__name__": "__dbt__"})

    return SessionPythonJobHelper


def register_session_helper() -> type:
    """Add the ``session`` submission method to dbt-spark's adapter (idempotent); return it."""
    from dbt.adapters.spark.impl import SparkAdapter

    if getattr(SparkAdapter, "_clv_session_helper", None) is not None:
        return SparkAdapter._clv_session_helper
    helper = _helper_class()
    helpers = SparkAdapter.python_submission_helpers
    default = SparkAdapter.default_python_submission_method

    def python_submission_helpers(self: Any) -> dict:
        return {**helpers.fget(self), SUBMISSION_METHOD: helper}

    def default_python_submission_method(self: Any) -> str:
        if str(self.config.credentials.method) in ("session", "SparkConnectionMethod.SESSION"):
            return SUBMISSION_METHOD
        return default.fget(self)

    SparkAdapter.python_submission_helpers = property(python_submission_helpers)
    SparkAdapter.default_python_submission_method = property(default_python_submission_method)
    SparkAdapter._clv_session_helper = helper
    return helper


SessionPythonJobHelper = None  # the class, once register_session_helper() has built it


def run_dbt(args: Sequence[str]) -> int:
    """``dbt <args>`` in this process with the session helper registered; dbt's exit code
    (0 success, 1 a node failed, 2 dbt itself failed)."""
    global SessionPythonJobHelper
    try:
        SessionPythonJobHelper = register_session_helper()
    except ImportError:  # dbt-spark is not installed: other adapters need no helper
        pass
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(list(args))
    if result.success:
        return 0
    return 2 if result.exception is not None else 1

"""The Dagster code location: the dbt project as assets, then the data quality suite, the CLV
dashboard and the activation exports, on a weekly and a daily schedule.

Start it with ``dagster dev`` from the project folder (workspace.yaml points here); the
definitions live in ``clv_segments.orchestration.definitions``. Dagster is an optional
dependency: nothing else in the package imports this subpackage.
"""

"""The Dagster code location: the main job (write, audit, publish: ``clv-segments run``) as the
``published_warehouse`` asset, then the CLV dashboard and the activation exports from the
published warehouse, on one daily schedule.

Start it with ``dagster dev`` from the project folder (workspace.yaml points here); the
definitions live in ``clv_segments.orchestration.definitions``. Dagster is an optional
dependency: nothing else in the package imports this subpackage.
"""

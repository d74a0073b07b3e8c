"""The process of `clv-segments run` waits beside dbt for the whole build, so what it has imported
by then counts in the run's memory bound (4 GB at 1,000,000 customers, docs/benchmarks.md).
Great Expectations (with the pandas and pyspark it imports) is loaded only for the audit."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("great_expectations", "pandas", "pyspark", "lifetimes", "dagster")


def test_the_run_imports_nothing_heavy_before_the_audit():
    # what cli._run_run imports before run_pipeline starts dbt
    code = (
        "import sys\n"
        "import clv_segments.cli, clv_segments.preflight, clv_segments.project_settings\n"
        "import clv_segments.runs, clv_segments.warehouse\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout.strip()
    assert loaded == "", f"imported before the build: {loaded}"

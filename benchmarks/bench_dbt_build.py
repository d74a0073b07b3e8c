"""Benchmark of the main job: generate demo data at given sizes and time `dbt build` (not a test).

For each size: the generator's time, the wall time and peak memory (max RSS of the dbt process)
of `dbt build`, and each node's execution time from dbt's run_results.json, slowest first.
Usage: .venv/bin/python benchmarks/bench_dbt_build.py --customers 100000 1000000 [--repeat 3]
The data and the warehouse go to --work (default /tmp/clv_segments_bench), not into the project.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _machine() -> str:
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    python = platform.python_version()
    return f"{platform.machine()}, {os.cpu_count()} cores, {memory_gb:.0f} GB, Python {python}"


def _child_peak_rss_mb() -> float:
    # ru_maxrss of waited-for children, in KiB on Linux: the largest child so far.
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def generate(customers: int, raw: Path, as_of_date: str) -> float:
    if raw.exists():
        shutil.rmtree(raw)
    started = time.perf_counter()
    subprocess.run(
        [
            str(BIN / "clv-segments"),
            "generate",
            "--customers",
            str(customers),
            "--as-of-date",
            as_of_date,
            "--out",
            str(raw),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return time.perf_counter() - started


def dbt_build(raw: Path, work: Path, as_of_date: str, threads: int) -> tuple[float, list[dict]]:
    database = work / "warehouse.duckdb"
    for path in (database, Path(f"{database}.wal")):
        path.unlink(missing_ok=True)
    env = {
        **os.environ,
        "CLV_DUCKDB_PATH": str(database),
        "DBT_PROFILES_DIR": str(PROJECT_DIR),
        "CLV_DBT_THREADS": str(threads),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    dbt_vars = json.dumps({"raw_data_path": str(raw), "as_of_date": as_of_date})
    started = time.perf_counter()
    proc = subprocess.run(
        [
            str(BIN / "dbt"),
            "build",
            "--vars",
            dbt_vars,
            "--target-path",
            str(work / "target"),
            "--log-path",
            str(work / "logs"),
        ],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"dbt build failed:\n{proc.stdout[-4000:]}")
    results = json.loads((work / "target" / "run_results.json").read_text())["results"]
    return seconds, results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=1, help="dbt builds per size (median)")
    parser.add_argument("--as-of-date", default="2026-11-20")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--top", type=int, default=15, help="slowest nodes to print")
    parser.add_argument("--work", type=Path, default=Path("/tmp/clv_segments_bench"))
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    print(f"machine: {_machine()}; dbt threads: {args.threads}", flush=True)
    report = []
    for customers in args.customers:
        work = args.work / str(customers)
        work.mkdir(parents=True, exist_ok=True)
        raw = work / "raw"
        gen_seconds = generate(customers, raw, args.as_of_date)
        rows = json.loads((raw / "true_parameters.json").read_text())["rows"]
        print(
            f"\n== {customers:,} customers: {rows['orders']:,} orders, {rows['events']:,} events;"
            f" generated in {gen_seconds:.1f} s",
            flush=True,
        )
        walls, node_times = [], {}
        for attempt in range(args.repeat):
            seconds, results = dbt_build(raw, work, args.as_of_date, args.threads)
            walls.append(seconds)
            for result in results:
                node_times.setdefault(result["unique_id"], []).append(result["execution_time"])
            print(f"   dbt build #{attempt + 1}: {seconds:.1f} s", flush=True)
        peak_mb = _child_peak_rss_mb()
        medians = {node: statistics.median(times) for node, times in node_times.items()}
        models = {n: t for n, t in medians.items() if n.startswith("model.")}
        tests = {n: t for n, t in medians.items() if n.startswith(("test.", "unit_test."))}
        print(
            f"   dbt build median wall {statistics.median(walls):.1f} s; peak RSS of a child"
            f" process so far {peak_mb:,.0f} MB; models {sum(models.values()):.1f} s,"
            f" tests {sum(tests.values()):.1f} s (summed node times)"
        )
        print(f"   slowest {args.top} nodes (median execution seconds):")
        for node, value in sorted(medians.items(), key=lambda item: -item[1])[: args.top]:
            print(f"     {value:8.2f}  {node.split('.', 1)[1]}")
        report.append(
            {
                "customers": customers,
                "rows": rows,
                "generate_seconds": gen_seconds,
                "dbt_build_seconds": walls,
                "peak_rss_mb": peak_mb,
                "nodes": medians,
            }
        )
    if args.json:
        args.json.write_text(json.dumps({"machine": _machine(), "runs": report}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

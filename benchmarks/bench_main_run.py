"""Benchmark of the main job against the raw-query limit (make bench, make bench-10m; no test).

For each size: generate a shop (`clv-segments generate`), run the main job
(`clv-segments run --no-activation`: build, audit, publish) into a fresh warehouse, and, on the same
raw parquet files under the same DuckDB memory_limit and threads, the two "limit queries" that do
the per-customer work with plain DuckDB straight from the files:
  (a) orders: RFM per customer (placed orders up to the as-of date: count, sum, last date);
  (b) events: counts per customer and event type in the last 30/90/365 days, over the distinct
      event rows (exact duplicates removed); with --limit-buckets N, one statement per hash
      bucket of the customer, where a single `select distinct` does not fit the memory limit.
It prints the wall times, the peak memory, the run's own step seconds (report.json: prepare,
build, audit, publish), the ratio run / (a + b), the load average beside each figure, and the
slowest dbt nodes. Peak memory is measured two ways: the largest single process of the run
(ru_maxrss of the waited-for child, as /usr/bin/time -v reports it) and the sum of the RSS of
every process of the run's tree, sampled every 0.2 s (the figure the 4 GB and 8 GB bounds are
about). Data and warehouses go under --work (default /tmp/clv_bench), never into the project.

Usage: .venv/bin/python benchmarks/bench_main_run.py --customers 100000 1000000 --repeat 3 1
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import yaml

PROJECT_DIR = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SAMPLE_SECONDS = 0.2


def _machine() -> str:
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    import duckdb

    return (
        f"{platform.machine()}, {os.cpu_count()} cores, {memory_gb:.0f} GB, Python "
        f"{platform.python_version()}, DuckDB {duckdb.__version__}"
    )


def _load() -> str:
    return "/".join(f"{value:.1f}" for value in os.getloadavg())


def _profile_default(setting: str, fallback: str) -> str:
    """The default of an env var in profiles.yml (env_var('NAME', 'default')), so that the limit
    queries run under the same DuckDB settings as the build."""
    text = (PROJECT_DIR / "profiles.yml").read_text(encoding="utf-8")
    found = re.search(rf"env_var\('{setting}',\s*'([^']*)'\)", text)
    return found.group(1) if found else fallback


# --- peak memory of a process tree ------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        tree.setdefault(int(fields[1]), []).append(int(entry))
    return tree


def _command_name(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            words = cmdline.read().split(b"\0")
    except OSError:
        return "?"
    names = [Path(word.decode(errors="replace")).name for word in words[:3] if word]
    # "python .../dbt build" -> "dbt build"; "python -c ..." -> "python -c"
    return " ".join(name for name in names if not name.startswith("python"))[:40] or "python"


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", encoding="utf-8") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


class TreeSampler:
    """The largest sum of RSS over a process and all its descendants, sampled."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak_bytes, self.peak_parts = pid, 0, ""
        self.peak_at: datetime | None = None  # when the peak was sampled (UTC, as dbt's timings)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            tree, pids, parts = _children(), [self.pid], []
            while pids:
                pid = pids.pop()
                parts.append((_rss_bytes(pid), pid))
                pids.extend(tree.get(pid, []))
            total = sum(rss for rss, _ in parts)
            if total > self.peak_bytes:
                self.peak_bytes, self.peak_at = total, datetime.now(UTC)
                self.peak_parts = " + ".join(
                    f"{_command_name(pid)} {rss / 1e9:.2f}"
                    for rss, pid in sorted(parts, reverse=True)
                    if rss > 50e6
                )
            self._stop.wait(SAMPLE_SECONDS)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak_bytes


@dataclass
class Measured:
    seconds: float
    tree_peak_gb: float
    largest_process_gb: float
    load_before: str
    load_after: str
    cpu_seconds: float = 0.0
    output: str = ""
    peak_parts: str = ""
    peak_at: datetime | None = None
    returncode: int = 0
    error: str | None = None  # the error line of a command that failed (check=False)


def measure(command: list[str], env: dict[str, str] | None = None, check: bool = True) -> Measured:
    """Run a command; its wall time, the peak RSS of its process tree and of its largest process.
    A failed command stops the bench, unless ``check`` is false (the caller reports it)."""
    load_before = _load()
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    )
    sampler = TreeSampler(process.pid)
    output = process.stdout.read() if process.stdout else ""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    tree_peak = sampler.stop()
    if check and process.returncode != 0:
        sys.exit(f"{' '.join(command[:3])} ... failed ({process.returncode}):\n{output[-4000:]}")
    return Measured(
        seconds=seconds,
        tree_peak_gb=tree_peak / 1e9,
        largest_process_gb=usage.ru_maxrss * 1024 / 1e9,  # KiB on Linux
        load_before=load_before,
        load_after=_load(),
        cpu_seconds=usage.ru_utime + usage.ru_stime,  # the child and its waited-for children
        output=output,
        peak_parts=sampler.peak_parts,
        peak_at=sampler.peak_at,
        returncode=process.returncode,
    )


# --- the limit queries ------------------------------------------------------------------------

LIMIT_QUERIES = {
    "orders_rfm": """
        create or replace table limit_orders_rfm as
        select
            customer_id,
            count(*) as orders,
            sum(amount) as monetary,
            max(cast(make_timestamp(epoch_us(ordered_at)) as date)) as last_order_date
        from read_parquet('{raw}/orders.parquet')
        where status = 'placed'
            and cast(make_timestamp(epoch_us(ordered_at)) as date) <= date '{as_of}'
        group by 1
    """,
    # {into}: create the table, or add a bucket's rows to it; {bucket}: the customers of one hash
    # bucket when the query runs in buckets (limit_sql)
    "events_windows": """
        {into}
        with distinct_events as (
            select distinct * from read_parquet('{raw}/events.parquet') {bucket}
        ),
        dated as (
            select
                customer_id,
                event_type,
                date '{as_of}' - cast(make_timestamp(epoch_us(occurred_at)) as date) as days_ago
            from distinct_events
        )
        select
            customer_id,
            event_type,
            count(*) filter (where days_ago < 30) as events_30d,
            count(*) filter (where days_ago < 90) as events_90d,
            count(*) as events_365d
        from dated
        where days_ago between 0 and 364
        group by 1, 2
    """,
}


def limit_sql(name: str, raw: Path, as_of: str, buckets: int = 1) -> str:
    """The limit query ``name``. With ``buckets`` > 1 the events query runs as one statement per
    hash bucket of the customer, where one `select distinct` over every event row does not fit
    the memory limit (at 10 M customers under 6GB): the same rows, one bucket's distinct rows at
    a time, as the model's engagement_day_hash_partitions does."""
    if name != "events_windows":
        return LIMIT_QUERIES[name].format(raw=raw, as_of=as_of)
    statements = [
        LIMIT_QUERIES[name].format(
            raw=raw,
            as_of=as_of,
            into="create or replace table limit_events_windows as"
            if bucket == 0
            else "insert into limit_events_windows",
            bucket=f"where hash(customer_id) % {buckets} = {bucket}" if buckets > 1 else "",
        )
        for bucket in range(max(buckets, 1))
    ]
    return ";\n".join(statements)


LIMIT_SCRIPT = """
import sys, time, duckdb
database, memory_limit, threads, temp, name, sql = sys.argv[1:7]
con = duckdb.connect(database)
con.execute(f"set memory_limit = '{memory_limit}'")
con.execute(f"set threads = {threads}")
con.execute(f"set temp_directory = '{temp}'")
con.execute("set TimeZone = 'UTC'")
started = time.perf_counter()
con.execute(sql)
print(f"{time.perf_counter() - started:.3f}")
"""


def limit_query(
    name: str, raw: Path, work: Path, as_of: str, memory: str, threads: str, buckets: int = 1
) -> Measured:
    database = work / "limit.duckdb"
    database.unlink(missing_ok=True)
    sql = limit_sql(name, raw, as_of, buckets)
    command = [sys.executable, "-c", LIMIT_SCRIPT, str(database), memory, threads]
    measured = measure([*command, str(work / "limit.tmp"), name, sql], check=False)
    lines = measured.output.strip().splitlines() or [""]
    if measured.returncode == 0:
        measured.seconds = float(lines[-1])  # the query alone
    else:  # a limit query that fails (DuckDB's Out of Memory at 10 M) is reported, not fatal
        measured.error = next((line for line in lines if "Error" in line), lines[-1])
    database.unlink(missing_ok=True)
    shutil.rmtree(work / "limit.tmp", ignore_errors=True)
    return measured


# --- the main run -----------------------------------------------------------------------------


def generate(customers: int, raw: Path, as_of: str) -> Measured:
    if raw.exists():
        shutil.rmtree(raw)
    command = [str(BIN / "clv-segments"), "generate", "--customers", str(customers)]
    return measure([*command, "--as-of-date", as_of, "--out", str(raw)])


def nodes_running_at(results: list[dict], moment: datetime | None) -> list[str]:
    """The dbt nodes of run_results.json that were compiling or executing at ``moment``: where
    the peak memory was sampled (none when it came outside every node: the parse, the audit)."""
    running = []
    for result in results:
        spans = [
            (datetime.fromisoformat(timing["started_at"].replace("Z", "+00:00")),
             datetime.fromisoformat(timing["completed_at"].replace("Z", "+00:00")))
            for timing in result.get("timing", [])
            if timing.get("started_at") and timing.get("completed_at")
        ]  # fmt: skip
        if moment and spans and min(s for s, _ in spans) <= moment <= max(e for _, e in spans):
            running.append(result["unique_id"].split(".", 1)[1])
    return running


def main_run(
    raw: Path, work: Path, as_of: str, env: dict[str, str], extra_vars: dict
) -> tuple[Measured, dict]:
    """`clv-segments run --no-activation` into a fresh warehouse; its report's step seconds."""
    run_dir = work / "run"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    database = run_dir / "warehouse.duckdb"
    command = [
        str(BIN / "clv-segments"),
        "run",
        "--no-activation",
        "--database",
        str(database),
        "--project-dir",
        str(PROJECT_DIR),
        "--target-path",
        str(run_dir / "target"),
        "--artifacts",
        str(run_dir / "artifacts"),
        "--vars",
        json.dumps({**extra_vars, "raw_data_path": str(raw), "as_of_date": as_of}),
    ]
    measured = measure(command, env, check=False)
    report_line = [line for line in measured.output.splitlines() if line.startswith("report: ")]
    # the run's dbt build in its two steps (build_steps.keep_run_results): run_results_input
    # then run_results_rest, in the order of their names
    steps = sorted((database.parent / "runs").glob("*/run_results_*.json"))
    results = [result for path in steps for result in json.loads(path.read_text())["results"]]
    nodes = {result["unique_id"]: result["execution_time"] for result in results}
    peak_nodes = nodes_running_at(results, measured.peak_at)
    peak_where = (
        ", ".join(peak_nodes)
        if peak_nodes
        else "no dbt node (dbt's parse, the audit or the publish)"
    )
    if measured.returncode != 0 or not report_line:
        # a run that stops (a failed node, a breaker) is a result too: what it reached, its
        # peak memory and where it stopped, then the bench stops
        slowest = sorted(results, key=lambda result: -result["execution_time"])[:12]
        print(
            f"   the run stopped (exit {measured.returncode}) after {measured.seconds:.1f} s "
            f"({measured.cpu_seconds:.1f} s CPU); peak RSS tree {measured.tree_peak_gb:.2f} GB "
            f"[{measured.peak_parts}] during {peak_where}, largest "
            f"process {measured.largest_process_gb:.2f} GB (load {measured.load_before} -> "
            f"{measured.load_after}); nodes run: "
            f"{sum(result['status'] != 'skipped' for result in results)} of {len(results)}",
            flush=True,
        )
        for result in slowest:
            print(
                f"  {result['execution_time']:8.2f}  {result['status']:8}  "
                f"{result['unique_id'].split('.', 1)[1]}",
                flush=True,
            )
        sys.exit(f"the main run was not published:\n{measured.output[-4000:]}")
    report = json.loads(Path(report_line[-1].split(": ", 1)[1]).read_text())
    return measured, {"seconds": report["seconds"], "nodes": nodes, "peak_during": peak_where}


@dataclass
class SizeReport:
    customers: int
    rows: dict = field(default_factory=dict)
    generate: dict = field(default_factory=dict)
    runs: list = field(default_factory=list)
    limits: list = field(default_factory=list)


def _median(values: list[float | None]) -> float:
    """The median; nan when there is no value or one of them is missing (a failed query)."""
    if not values or any(value is None for value in values):
        return float("nan")
    return statistics.median(values)


def bench_size(customers: int, repeat: int, args: argparse.Namespace, env: dict) -> SizeReport:
    work = args.work / str(customers)
    work.mkdir(parents=True, exist_ok=True)
    raw = work / "raw"
    report = SizeReport(customers)
    if args.reuse_raw and (raw / "true_parameters.json").exists():
        print(f"\n== {customers:,} customers: reusing {raw}", flush=True)
    else:
        generated = generate(customers, raw, args.as_of_date)
        report.generate = {
            "seconds": generated.seconds,
            "tree_peak_gb": generated.tree_peak_gb,
            "load": [generated.load_before, generated.load_after],
        }
        print(
            f"\n== {customers:,} customers: generated in {generated.seconds:.1f} s, peak RSS "
            f"{generated.tree_peak_gb:.2f} GB (load {generated.load_before} -> "
            f"{generated.load_after})",
            flush=True,
        )
    report.rows = json.loads((raw / "true_parameters.json").read_text())["rows"]
    print(f"   {report.rows['orders']:,} orders, {report.rows['events']:,} events", flush=True)
    for attempt in range(repeat):
        run, details = main_run(raw, work, args.as_of_date, env, args.vars)
        steps = ", ".join(f"{step} {seconds:.1f} s" for step, seconds in details["seconds"].items())
        print(
            f"   run #{attempt + 1}: {run.seconds:.1f} s wall, {run.cpu_seconds:.1f} s CPU "
            f"({steps}); peak RSS tree "
            f"{run.tree_peak_gb:.2f} GB [{run.peak_parts}] during {details['peak_during']}, "
            f"largest process "
            f"{run.largest_process_gb:.2f} GB (load {run.load_before} -> {run.load_after})",
            flush=True,
        )
        limits = {}
        for name in LIMIT_QUERIES:
            measured = limit_query(
                name, raw, work, args.as_of_date, args.memory, args.threads, args.limit_buckets
            )
            failed = measured.error is not None
            limits[name] = {
                "seconds": None if failed else measured.seconds,
                "cpu_seconds": None if failed else measured.cpu_seconds,
                "tree_peak_gb": measured.tree_peak_gb,
                "load": [measured.load_before, measured.load_after],
                "error": measured.error,
            }
            outcome = (
                f"FAILED after {measured.seconds:.1f} s ({measured.error})"
                if failed
                else f"{measured.seconds:.1f} s ({measured.cpu_seconds:.1f} s CPU)"
            )
            print(
                f"   limit {name}: {outcome}, peak RSS {measured.tree_peak_gb:.2f}"
                f" GB (load {measured.load_before} -> {measured.load_after})",
                flush=True,
            )
        report.runs.append(
            {
                "seconds": run.seconds,
                "cpu_seconds": run.cpu_seconds,
                "tree_peak_gb": run.tree_peak_gb,
                "largest_process_gb": run.largest_process_gb,
                "tree_peak_parts": run.peak_parts,
                "tree_peak_during": details["peak_during"],
                "load": [run.load_before, run.load_after],
                "steps": details["seconds"],
                "nodes": details["nodes"],
            }
        )
        report.limits.append(limits)
    if args.clean:
        shutil.rmtree(work, ignore_errors=True)
    elif not args.keep:
        shutil.rmtree(work / "run", ignore_errors=True)
    return report


def _summary(report: SizeReport) -> dict:
    runs, limits = report.runs, report.limits
    limit_a = _median([limit["orders_rfm"]["seconds"] for limit in limits])
    limit_b = _median([limit["events_windows"]["seconds"] for limit in limits])
    wall = _median([run["seconds"] for run in runs])
    return {
        "customers": report.customers,
        "orders": report.rows["orders"],
        "events": report.rows["events"],
        "generate": report.generate.get("seconds"),  # None: the raw folder was reused
        "runs": len(runs),
        "wall": wall,
        "peak_gb": max(run["tree_peak_gb"] for run in runs),
        "largest_gb": max(run["largest_process_gb"] for run in runs),
        "build": _median([run["steps"].get("build", 0.0) for run in runs]),
        "audit": _median([run["steps"].get("audit", 0.0) for run in runs]),
        "publish": _median([run["steps"].get("publish", 0.0) for run in runs]),
        "limit_a": limit_a,
        "limit_b": limit_b,
        "ratio": wall / (limit_a + limit_b),
        "cpu_ratio": _median([run["cpu_seconds"] for run in runs])
        / (
            _median([limit["orders_rfm"]["cpu_seconds"] for limit in limits])
            + _median([limit["events_windows"]["cpu_seconds"] for limit in limits])
        ),
        "load": " ".join(run["load"][0] + ">" + run["load"][1] for run in runs),
    }


def _figure(value: float, places: int) -> str:
    """A figure of the table; a limit query that failed leaves it (and its ratio) 'failed'."""
    return "failed" if math.isnan(value) else f"{value:.{places}f}"


def print_table(reports: list[SizeReport], top: int) -> None:
    print(
        "\n| customers | orders | events | generate s | runs | run wall s (median) | build s | "
        "audit s | publish s | peak RSS tree GB (largest process) | limit (a) orders RFM s | "
        "limit (b) events windows s | run / (a+b) | the same on CPU seconds | "
        "load 1/5/15 min before>after each run |"
    )
    print("| " + " | ".join(["---"] * 15) + " |")
    for report in reports:
        s = _summary(report)
        # a reused raw folder (--reuse-raw) was not generated by this run: no time to show
        generated = "reused" if s["generate"] is None else f"{s['generate']:.1f}"
        print(
            f"| {s['customers']:,} | {s['orders']:,} | {s['events']:,} | {generated} | "
            f"{s['runs']} | {s['wall']:.1f} | {s['build']:.1f} | {s['audit']:.1f} | "
            f"{s['publish']:.2f} | {s['peak_gb']:.2f} ({s['largest_gb']:.2f}) | "
            f"{_figure(s['limit_a'], 1)} | {_figure(s['limit_b'], 1)} | {_figure(s['ratio'], 2)} | "
            f"{_figure(s['cpu_ratio'], 2)} | "
            f"{s['load']} |"
        )
    for report in reports:
        medians: dict[str, float] = {}
        for node in report.runs[0]["nodes"]:
            medians[node] = _median([run["nodes"].get(node, 0.0) for run in report.runs])
        print(f"\nslowest {top} nodes at {report.customers:,} customers (median seconds):")
        for node, value in sorted(medians.items(), key=lambda item: -item[1])[:top]:
            print(f"  {value:8.2f}  {node.split('.', 1)[1]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument(
        "--repeat", type=int, nargs="+", default=[1], help="runs per size (the last value repeats)"
    )
    parser.add_argument("--as-of-date", default="2026-11-20")
    parser.add_argument(
        "--memory",
        default=os.environ.get("CLV_DUCKDB_MEMORY_LIMIT")
        or _profile_default("CLV_DUCKDB_MEMORY_LIMIT", "4GB"),
        help="DuckDB memory_limit of the run and of the limit queries (CLV_DUCKDB_MEMORY_LIMIT)",
    )
    parser.add_argument(
        "--threads",
        default=os.environ.get("CLV_DUCKDB_THREADS") or _profile_default("CLV_DUCKDB_THREADS", "2"),
        help="DuckDB threads of the run and of the limit queries (CLV_DUCKDB_THREADS)",
    )
    parser.add_argument(
        "--vars",
        type=yaml.safe_load,
        default={},
        help="more dbt vars for the main run, as YAML, e.g. '{engagement_day_hash_partitions: 8}'",
    )
    parser.add_argument(
        "--limit-buckets",
        type=int,
        default=1,
        help="run the limit query (b) in this many hash buckets of the customer (default 1: one "
        "query; make bench-10m: 8, where one does not fit the memory limit)",
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/clv_bench"))
    parser.add_argument("--reuse-raw", action="store_true", help="keep generated data if present")
    parser.add_argument("--keep", action="store_true", help="keep the last run's warehouse")
    parser.add_argument(
        "--clean", action="store_true", help="delete each size's data and warehouse when done"
    )
    parser.add_argument("--top", type=int, default=12, help="slowest nodes to print")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    args = parser.parse_args(argv)

    env = {
        **os.environ,
        "CLV_DUCKDB_MEMORY_LIMIT": args.memory,
        "CLV_DUCKDB_THREADS": str(args.threads),
        "DBT_PROFILES_DIR": str(PROJECT_DIR),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    dbt_threads = os.environ.get("CLV_DBT_THREADS") or _profile_default("CLV_DBT_THREADS", "2")
    print(
        f"machine: {_machine()}; DuckDB memory_limit {args.memory}, threads {args.threads}; "
        f"dbt threads {dbt_threads}; vars {args.vars or 'the defaults'}; limit query (b) in "
        f"{args.limit_buckets} hash bucket(s); load {_load()}",
        flush=True,
    )
    reports = []
    for index, customers in enumerate(args.customers):
        repeat = args.repeat[min(index, len(args.repeat) - 1)]
        reports.append(bench_size(customers, repeat, args, env))
        if args.json:
            payload = {"machine": _machine(), "sizes": [vars(r) for r in reports]}
            args.json.write_text(json.dumps(payload, indent=2))
    print_table(reports, args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

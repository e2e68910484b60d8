"""Fault injection, counted: runs every fault scenario N times and prints a table
(fault, runs, money conserved, notes) for BENCHMARKS.md.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hometown \\
    TEST_REDIS_URL=redis://127.0.0.1:6379/15 python benchmarks/faults.py --runs 5

    # smoke for CI (each fault once, well under a minute)
    DATABASE_URL=... TEST_REDIS_URL=... python benchmarks/faults.py --runs 1

The scenarios are the tests themselves (tests/trust/test_faults.py, parametrized by
FAULT_REPEAT, in one pytest session, and the SIGKILL test of
tests/portfolio/test_exactly_once.py, once in that session and once more per extra run in
sessions of its own), run by pytest with REQUIRE_SERVICES=1 (pytest-django creates and
drops test_<database>). Each test asserts that nothing was lost and nothing
doubled after its documented retry (every contribution distributed once, the sum of the
rows equal to the sum of the contributions, the rows equal to the plan), so a passed run
is "money conserved"; a failed one is counted "no" with its first line of error.

The broker-restart scenario starts its own redis-server on a free port and kills it; the
shared Redis is only used (one database, TEST_REDIS_URL) by the two-beats and SIGKILL
scenarios, which flush that database first.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FAULTS = "tests/trust/test_faults.py"
KILL = (
    "tests/portfolio/test_exactly_once.py::"
    "test_a_worker_killed_mid_run_then_restarted_gives_every_cent_once"
)
NAMES = [
    ("test_a_database_error_in_one_city", "database error in the middle of one city"),
    ("test_a_worker_killed_mid_run", "worker SIGKILLed mid-run, then restarted"),
    ("test_a_broker_restart_mid_run", "Redis (broker) restarted mid-run, queue lost"),
    ("test_two_beat_schedulers", "two beat schedulers fire the weekly task at once"),
    ("test_a_webhook_handler_failing_halfway", "webhook handler fails halfway"),
]
RETRY = {
    "database error in the middle of one city": "rerun the week",
    "worker SIGKILLed mid-run, then restarted": "acks_late redelivery",
    "Redis (broker) restarted mid-run, queue lost": "send the week again",
    "two beat schedulers fire the weekly task at once": "none needed",
    "webhook handler fails halfway": "Stripe's redelivery",
}


def fault_of(name: str) -> str | None:
    for prefix, fault in NAMES:
        if name.startswith(prefix):
            return fault
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1, help="runs of each fault (default 1)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        print("DATABASE_URL must point at PostgreSQL (the faults are PostgreSQL's).")
        return 2

    report = Path(tempfile.mkdtemp(prefix="faults-")) / "report.jsonl"
    env = {
        **os.environ,
        "REQUIRE_SERVICES": "1",
        "FAULT_REPEAT": str(args.runs),
        "FAULTS_REPORT": str(report),
    }
    base = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            "-p", "benchmarks.faults_plugin"]  # fmt: skip
    # The SIGKILL test is not parametrized (it lives with the engine's tests) and pytest
    # runs a repeated test id once, so its further runs are sessions of their own.
    commands = [[*base, FAULTS, KILL]] + [[*base, KILL]] * (args.runs - 1)
    started = time.monotonic()
    outputs = []
    for command in commands:
        proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        outputs.append(proc.stdout[-4000:] + proc.stderr[-2000:])
    elapsed = time.monotonic() - started
    if not report.exists():
        print(*outputs, sep="\n")
        return 2

    runs: dict[str, int] = defaultdict(int)
    conserved: dict[str, int] = defaultdict(int)
    notes: dict[str, list[str]] = defaultdict(list)
    for raw in report.read_text(encoding="utf-8").splitlines():
        line = json.loads(raw)
        fault = fault_of(line["nodeid"].split("::")[-1])
        if fault is None:
            continue
        if line["when"] == "call":
            runs[fault] += 1
            conserved[fault] += line["outcome"] == "passed"
        elif line["outcome"] == "failed":  # setup or teardown broke: counted as a failed run
            runs[fault] += line["when"] == "setup"
        if line["error"]:
            notes[fault].append(line["error"])
        notes[fault].extend(line["notes"])

    print(f"machine: {platform.node()} {platform.machine()}, Python {platform.python_version()}")
    print(f"runs per fault: {args.runs}; pytest wall time {elapsed:.0f} s\n")
    print("| fault | runs | money conserved | retry | notes |")
    print("|---|---|---|---|---|")
    ok = True
    for _, fault in NAMES:
        n, good = runs.get(fault, 0), conserved.get(fault, 0)
        ok = ok and n == args.runs and good == n
        verdict = "yes" if n and good == n else f"no ({n - good} of {n} failed)"
        distinct = sorted(set(notes.get(fault, [])))
        note = "; ".join(distinct[:3]) + (" ..." if len(distinct) > 3 else "")
        print(f"| {fault} | {n} | {verdict} | {RETRY[fault]} | {note} |")
    if not ok:
        print(*outputs, sep="\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

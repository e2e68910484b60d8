"""Fault injection, counted: runs every fault scenario N times and prints a table
(fault, runs, money conserved, notes) for BENCHMARKS.md.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hometown \\
    TEST_REDIS_URL=redis://127.0.0.1:6379/15 python benchmarks/faults.py --runs 5

    # smoke for CI (each fault once, well under a minute)
    DATABASE_URL=... TEST_REDIS_URL=... python benchmarks/faults.py --runs 1

The scenarios are the tests themselves (tests/trust/test_faults.py, parametrized by
FAULT_REPEAT, and the SIGKILL test of tests/portfolio/test_exactly_once.py repeated with
--keep-duplicates), run by pytest with REQUIRE_SERVICES=1 in one session (pytest-django
creates and drops test_<database>). Each test asserts that nothing was lost and nothing
doubled after its documented retry (every contribution distributed once, the sum of the
rows equal to the sum of the contributions, the rows equal to the plan), so a passed run
is "money conserved"; a failed one is counted "no" with its first line of error.

The broker-restart scenario starts its own redis-server on a free port and kills it; the
shared Redis is only used (one database, TEST_REDIS_URL) by the two-beats and SIGKILL
scenarios, which flush that database first.
"""

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
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

    junit = Path(tempfile.mkdtemp(prefix="faults-")) / "junit.xml"
    env = {**os.environ, "REQUIRE_SERVICES": "1", "FAULT_REPEAT": str(args.runs)}
    command = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--keep-duplicates",
        f"--junitxml={junit}", "-o", "junit_logging=no", FAULTS, *([KILL] * args.runs),
    ]  # fmt: skip
    started = time.monotonic()
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    if not junit.exists():
        print(proc.stdout[-3000:], proc.stderr[-3000:], sep="\n")
        return 2

    runs: dict[str, int] = defaultdict(int)
    conserved: dict[str, int] = defaultdict(int)
    notes: dict[str, list[str]] = defaultdict(list)
    for case in ET.parse(junit).getroot().iter("testcase"):  # noqa: S314 - our own file
        fault = fault_of(case.get("name", ""))
        if fault is None:
            continue
        runs[fault] += 1
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if problem is None and case.find("skipped") is None:
            conserved[fault] += 1
        elif problem is not None:
            notes[fault].append((problem.get("message") or "failed").splitlines()[0][:120])
        for prop in case.iter("property"):
            if prop.get("name") == "note":
                notes[fault].append(prop.get("value", ""))

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
        print("\n" + proc.stdout[-4000:])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

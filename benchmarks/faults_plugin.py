"""pytest plugin for benchmarks/faults.py: one JSON line per test call (outcome, first line
of the error, recorded notes) to the file named by FAULTS_REPORT. Unlike a junit file it
keeps every repetition of a repeated test id (--keep-duplicates)."""

import json
import os


def pytest_runtest_logreport(report):
    path = os.environ.get("FAULTS_REPORT")
    if not path or (report.when != "call" and report.passed):
        return
    if report.when != "call" and not report.failed:
        return  # a skip in setup is reported by its call-less outcome below
    line = {
        "nodeid": report.nodeid,
        "when": report.when,
        "outcome": report.outcome,
        "error": _first_error(str(report.longrepr)) if report.failed else "",
        "notes": [value for name, value in report.user_properties if name == "note"],
    }
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")


def _first_error(text: str) -> str:
    lines = text.strip().splitlines() or [""]
    errors = [line[1:].strip() for line in lines if line.startswith("E ")]
    return (errors[0] if errors else lines[-1])[:200]

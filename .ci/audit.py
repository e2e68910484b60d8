"""Dependency audit for CI: pip-audit over the lock, read honestly.

It audits requirements-dev.txt, the lock of everything installed (runtime, test and lint
packages, transitive ones included; its runtime pins are requirements.txt's), exactly as
locked: --require-hashes and --disable-pip, so nothing is resolved or installed again.

Fails when any pinned dependency has a known vulnerability. pip-audit also exits 0 when it
could audit nothing (every package "not found" because no vulnerability database answers,
as on a machine that reaches only a package mirror); that is reported as NOT AUDITED, by
name, instead of as a pass.
"""

import json
import subprocess
import sys

LOCK = "requirements-dev.txt"

result = subprocess.run(  # noqa: S603 (fixed arguments, no input)
    [sys.executable, "-m", "pip_audit", "-r", LOCK, "--require-hashes", "--disable-pip",
     "--format", "json", "--progress-spinner", "off"],
    capture_output=True, text=True, timeout=600,
)  # fmt: skip
try:
    report = json.loads(result.stdout)
except json.JSONDecodeError:
    print(f"dependency audit: NOT AUDITED (pip-audit failed: {result.stderr.strip()[-300:]})")
    sys.exit(0)
deps = report.get("dependencies", [])
vulnerable = [d for d in deps if d.get("vulns")]
skipped = [d for d in deps if "skip_reason" in d]
for dep in vulnerable:
    ids = ", ".join(v["id"] for v in dep["vulns"])
    print(f"VULNERABLE: {dep['name']} {dep.get('version', '')}: {ids}")
audited = len(deps) - len(skipped)
if vulnerable:
    sys.exit(f"dependency audit: {len(vulnerable)} vulnerable package(s)")
if audited == 0:
    why = skipped[0]["skip_reason"] if skipped else "pip-audit listed no package"
    print(f"dependency audit: NOT AUDITED: none of the {len(deps)} packages of {LOCK} could "
          f"be checked (no vulnerability database reachable from this machine; first reason: "
          f"{why})")  # fmt: skip
else:
    print(f"dependency audit: {audited} packages of {LOCK} audited, no known vulnerability; "
          f"{len(skipped)} could not be checked")  # fmt: skip

"""The dependency locks agree with what the project asks for (a text check, no network).

requirements.in and requirements-dev.in name the direct dependencies; requirements.txt and
requirements-dev.txt are their locks (`make lock`), installed with pip's --require-hashes.
"""

import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCKS = {"requirements.in": "requirements.txt", "requirements-dev.in": "requirements-dev.txt"}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)$")
HASH = re.compile(r"^--hash=sha256:[0-9a-f]{64}$")


def read_lock(name):
    """{package: (version, hashes)} of a lock; fails on any line that is not a hashed pin."""
    text = (ROOT / name).read_text()
    # A requirement and its --hash options are one logical line, joined by backslashes.
    logical = re.sub(r"\\\n", " ", text)
    pins = {}
    for number, line in enumerate(logical.splitlines(), 1):
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        requirement, *options = line.split()
        match = PIN.match(requirement)
        assert match, f"{name} logical line {number}: not a name==version pin: {line[:80]}"
        assert options, f"{name}: {requirement} has no hash"
        bad = [o for o in options if not HASH.match(o)]
        assert not bad, f"{name}: {requirement} has something other than sha256 hashes: {bad}"
        package = canonicalize_name(match.group(1))
        assert package not in pins, f"{name}: {package} pinned twice"
        pins[package] = (match.group(2), frozenset(options))
    return pins


def read_in(name):
    """The direct requirements of an .in file, following -r (not -c: constraints only)."""
    requirements = []
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith(("-c ", "--constraint ")):
            continue
        if line.startswith(("-r ", "--requirement ")):
            requirements += read_in(line.split(None, 1)[1])
            continue
        assert not line.startswith("-"), f"{name}: an option the lock test does not know: {line}"
        requirements.append(Requirement(line))
    return requirements


@pytest.mark.parametrize("source", sorted(LOCKS))
def test_every_direct_dependency_is_locked_within_its_range(source):
    pins = read_lock(LOCKS[source])
    for requirement in read_in(source):
        package = canonicalize_name(requirement.name)
        assert package in pins, f"{requirement} of {source} is not in {LOCKS[source]}"
        version = pins[package][0]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{LOCKS[source]} pins {package}=={version}, outside {source}'s {requirement}"
        )


def test_extras_bring_their_packages():
    pins = read_lock("requirements.txt")
    assert "psycopg-binary" in pins  # psycopg[binary]
    assert pins["psycopg-binary"][0] == pins["psycopg"][0]
    assert "redis" in pins  # celery[redis]


def test_the_dev_lock_holds_the_runtime_lock_unchanged():
    runtime, dev = read_lock("requirements.txt"), read_lock("requirements-dev.txt")
    for package, (version, hashes) in runtime.items():
        assert package in dev, f"{package} is in requirements.txt, not in requirements-dev.txt"
        assert dev[package][0] == version, (
            f"{package}: requirements.txt pins {version}, requirements-dev.txt {dev[package][0]}"
        )
        assert dev[package][1] == hashes, f"{package}: the two locks allow different files"


def test_make_installs_from_the_locks_with_hashes_required():
    makefile = (ROOT / "Makefile").read_text()
    installs = [line.strip() for line in makefile.splitlines() if "pip install" in line]
    for lock in LOCKS.values():
        assert any(f"--require-hashes -r {lock}" in line for line in installs), lock
    # No other pip install into the project's venv, such as an unpinned pip upgrade.
    venv_installs = [line for line in installs if line.startswith("$(PY)")]
    assert all("--require-hashes" in line for line in venv_installs), venv_installs

"""`make run PORT=8001` serves on that port and the links in emails follow it (SITE_URL),
unless SITE_URL is set by the person running it. Checked with `make -n` (print, run
nothing) on a copy of the Makefile in an empty folder, so no .env of a developer's and no
install gets in the way."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="no make on this machine")


@pytest.fixture
def checkout(tmp_path):
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    for name in ("requirements.txt", "requirements-dev.txt"):
        (tmp_path / name).touch()
    return tmp_path


def make_n(folder: Path, *args: str, **env: str) -> list[str]:
    """The commands `make -n` would run, with an environment holding only PATH (and env)."""
    result = subprocess.run(
        ["make", "-n", *args],
        cwd=folder,
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.splitlines()


def manage_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if "manage.py" in line]


def test_run_serves_on_the_port_given_and_site_url_follows_it_from_the_first_migrate(checkout):
    lines = manage_lines(make_n(checkout, "run", "PORT=8001"))

    assert [line.split("manage.py ")[1].split()[0] for line in lines] == [
        "migrate",
        "seed_demo",
        "runserver",
    ]
    # migrate names the Site after SITE_URL, so it must see the same address as the server.
    for line in lines:
        assert line.startswith("SITE_URL=http://127.0.0.1:8001 "), line
    assert lines[-1].endswith("manage.py runserver 127.0.0.1:8001")


def test_the_default_is_port_8000_and_host_moves_the_address_too(checkout):
    assert manage_lines(make_n(checkout, "serve"))[-1] == (
        "SITE_URL=http://127.0.0.1:8000 .venv/bin/python manage.py runserver 127.0.0.1:8000"
    )
    assert manage_lines(make_n(checkout, "serve", "HOST=192.168.1.20", "PORT=9000"))[-1] == (
        "SITE_URL=http://192.168.1.20:9000 .venv/bin/python manage.py runserver 192.168.1.20:9000"
    )


@pytest.mark.parametrize("how", ["command line", "environment", ".env", ".env export"])
def test_a_site_url_someone_set_is_kept(checkout, how):
    args, env = ["serve", "PORT=8001"], {}
    if how == "command line":
        args.append("SITE_URL=https://demo.example.org")
    elif how == "environment":
        env["SITE_URL"] = "https://demo.example.org"
    else:
        prefix = "export " if how == ".env export" else ""
        (checkout / ".env").write_text(f"DEBUG=1\n{prefix}SITE_URL=https://demo.example.org\n")

    serve = manage_lines(make_n(checkout, *args, **env))[-1]

    # Nothing set on the command: make passes the variable on as given (or settings read
    # .env), and the server still listens where asked.
    assert serve == ".venv/bin/python manage.py runserver 127.0.0.1:8001"


def test_a_commented_site_url_in_env_does_not_count(checkout):
    (checkout / ".env").write_text("DEBUG=1\n# SITE_URL=https://old.example.org\n")
    assert manage_lines(make_n(checkout, "serve", "PORT=8001"))[-1].startswith(
        "SITE_URL=http://127.0.0.1:8001 "
    )

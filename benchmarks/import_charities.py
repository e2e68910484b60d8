"""Benchmark: `import_charities` on an IRS EO BMF state file.

Runs in a fresh temporary SQLite database (or the database of DATABASE_URL with
--use-database-url), times the first import and a re-import with --approve, and in the
same run times the floor: reading and parsing every CSV row with the csv module alone.

    python benchmarks/import_charities.py                      # ../shared/data/irs_bmf/eo_wy.csv
    python benchmarks/import_charities.py --file path/to/eo_vt.csv
    python benchmarks/import_charities.py --smoke              # the small in-repo extract (CI)

The last line is machine-readable: seconds=<first import> ratio_to_csv=<x.xx>.
"""

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FILE = ROOT.parent / "shared" / "data" / "irs_bmf" / "eo_wy.csv"
SMOKE_FILE = ROOT / "charities" / "data" / "irs_bmf_demo.csv"


def _setup_django(database_url: str | None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("READ_DOT_ENV_FILE", "0")
    os.environ.setdefault("DEBUG", "1")
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _time(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--smoke", action="store_true", help="Use the small in-repo extract.")
    parser.add_argument(
        "--use-database-url",
        action="store_true",
        help="Import into DATABASE_URL instead of a fresh SQLite file.",
    )
    args = parser.parse_args()
    path = SMOKE_FILE if args.smoke else args.file
    if not path.is_file():
        sys.exit(f"{path}: no such file")

    with tempfile.TemporaryDirectory() as tmp:
        url = (
            os.environ.get("DATABASE_URL")
            if args.use_database_url
            else (f"sqlite:///{tmp}/bench.sqlite3")
        )
        _setup_django(url)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)

        def floor():
            with path.open(newline="", encoding="utf-8") as f:
                return sum(1 for _ in csv.DictReader(f))

        csv_seconds, rows = _time(floor)
        with open(os.devnull, "w") as quiet:
            first, _ = _time(lambda: call_command("import_charities", str(path), stdout=quiet))
            again, _ = _time(
                lambda: call_command("import_charities", str(path), "--approve", stdout=quiet)
            )
        from charities.models import Charity

        kept = Charity.objects.count()

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    print(f"file={path.name} rows={rows} kept={kept} commit={commit or 'unknown'}")
    print(f"csv_floor_seconds={csv_seconds:.3f}")
    print(f"first_import_seconds={first:.3f}")
    print(f"reimport_approve_seconds={again:.3f}")
    print(f"seconds={first:.3f} ratio_to_csv={first / max(csv_seconds, 1e-9):.2f}")


if __name__ == "__main__":
    main()

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from charities.imports import import_charities
from charities.irs import BadFileError, parse_bmf, read_rows
from core.text import counted


class Command(BaseCommand):
    help = (
        "Import charities from an IRS EO BMF CSV (e.g. ../shared/data/irs_bmf/eo_vt.csv). "
        "Keeps deductible public charities, skips private non-operating foundations, "
        "updates by EIN (never duplicates) and prints counts. Records the import and each "
        "listed charity's IRS status and deductibility (payout eligibility): the file covers "
        "the states of its rows, so import a state's whole file."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="An IRS EO BMF CSV file.")
        parser.add_argument(
            "--approve",
            action="store_true",
            help="Approve the imported charities at once (pending ones; never rejected ones).",
        )

    def handle(self, *args, file, approve, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{file}: no such file.")
        try:
            # surrogateescape: a byte that is not UTF-8 reaches read_rows, which names its line.
            with path.open(newline="", encoding="utf-8", errors="surrogateescape") as stream:
                parsed = parse_bmf(read_rows(stream, filename=path.name))
        except BadFileError as exc:
            raise CommandError(str(exc)) from None
        except UnicodeDecodeError:
            raise CommandError(f"{path.name} is not a UTF-8 text file.") from None
        result = import_charities(
            parsed.kept,
            approve=approve,
            source_name=path.name,
            skipped=parsed.skipped,
            record=parsed,
        )
        self.stdout.write(f"Imported {path.name}: {counted(len(parsed.kept), 'charity')} kept.")
        for line in result.summary_lines():
            self.stdout.write(line)

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.text import counted
from needs.imports import BadNeedsFile, import_needs, parse_needs_csv


class Command(BaseCommand):
    help = (
        "Import staff-entered needs from a CSV file with a header row: ein or charity_id, "
        "category, urgency_score (0..100), and the gap as funding_gap (dollars, e.g. "
        '"12,500.00" or $12500) or funding_gap_cents. Every row is checked first: any bad '
        "row is reported with its line number and nothing of the file is written. See "
        "needs/imports.py and README.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="A CSV file of needs.")

    def handle(self, *args, file, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{file}: no such file.")
        try:
            with path.open(newline="", encoding="utf-8-sig") as stream:
                rows = parse_needs_csv(stream)
        except UnicodeDecodeError:
            raise CommandError(f"{path.name} is not a UTF-8 text file.") from None
        except BadNeedsFile as exc:
            for line in exc.errors:
                self.stderr.write(f"{path.name} {line}")
            raise CommandError(
                f"{path.name}: nothing imported ({counted(len(exc.errors), 'problem')})."
            ) from None
        result = import_needs(rows, source_name=path.name)
        self.stdout.write(result.summary(path.name))

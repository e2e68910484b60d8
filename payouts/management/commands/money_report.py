from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from core.commands import one_line
from core.months import parse_period
from core.templatetags.money import format_cents
from payouts.selectors import get_money_summary


class Command(BaseCommand):
    help = (
        "Print the platform's money for a month (collected, distributed, paid in it) and "
        "the balances at its end (held, paid out, owed), with the identities that must "
        "hold to the cent. Exits non-zero on a MISMATCH or a bad --period."
    )

    def add_arguments(self, parser):
        parser.add_argument("--period", required=True, help="The month, YYYY-MM.")

    def handle(self, *args, period, **options):
        try:
            month = parse_period(period, field="--period")
        except ValidationError as exc:
            raise CommandError(one_line(exc)) from None
        summary = get_money_summary(month)
        for line in report_lines(summary):
            self.stdout.write(line)
        broken = [i.name for i in summary.identities if not i.holds]
        if broken:
            raise CommandError(f"MISMATCH in {', '.join(broken)}: the ledger does not add up.")


def report_lines(summary) -> list[str]:
    flow, end = summary.in_period, summary.to_end

    def row(label, cents, note=""):
        return f"  {label:<34}{format_cents(cents):>16}{note}"

    lines = [f"Money report for {summary.label} ({summary.period:%Y-%m})", "In the month:"]
    lines += [
        row("collected (gross)", flow.gross_cents),
        row("fees", flow.fees_cents),
        row("net", flow.net_cents),
        row("fee not read yet (gross)", flow.pending_gross_cents, f"  ({flow.pending_count})"),
        row("distributed", flow.distributed_cents),
        row("paid out (payouts for the month)", flow.paid_out_cents),
        row("in payment (payouts for the month)", flow.in_payment_cents),
        f"At the end of {summary.label}:",
        row("collected (gross)", end.gross_cents),
        row("fees", end.fees_cents),
        row("net", end.net_cents),
        row("fee not read yet (gross)", end.pending_gross_cents, f"  ({end.pending_count})"),
        row("distributed", end.distributed_cents),
        row("held (net not distributed)", end.held_cents),
        row("paid out", end.paid_out_cents),
        row("in payment", end.in_payment_cents),
        row("owed (in payment included)", end.owed_cents),
        "Checks:",
    ]
    for identity in summary.identities:
        verdict = (
            "OK" if identity.holds else f"MISMATCH by {format_cents(identity.difference_cents)}"
        )
        right = " + ".join(format_cents(c) for _, c in identity.right)
        lines.append(
            f"  {verdict:<8} {identity.name}: {identity.text()}: "
            f"{format_cents(identity.left_cents)} = {right}"
        )
    return lines

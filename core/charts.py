"""Server-rendered SVG charts: no JavaScript, no library, nothing for the CSP to allow.

Each function returns a SafeString of one <svg> element. Every label that could come from
a user (a charity's name) is escaped here; colours come from CSS classes in site.css so
the markup carries no style attributes. A chart always sits beside a table or a list of
the same numbers, so the SVG is a picture, not the only way to read the data.
"""

import datetime as dt
from collections.abc import Callable, Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from core.templatetags.money import format_cents, percentages, whole_dollars

BAR_CLASSES = 8  # .chart-c0 .. .chart-c7 in site.css


def _nice_ceiling(value: int) -> int:
    """A round number >= value for the top of an axis (1, 2, 5 x 10^n)."""
    if value <= 0:
        return 1
    magnitude = 1
    while magnitude * 10 <= value:
        magnitude *= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover


def weekly_bar_chart(
    points: Sequence[tuple[dt.date, int]],
    *,
    title: str,
    value_format: Callable[[int], str] = format_cents,
    width: int = 560,
    height: int = 240,
) -> SafeString:
    """Vertical bars, one per week (oldest on the left), amounts in cents."""
    if not points:
        return mark_safe("")
    left, right, top, bottom = 76, 40, 14, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _nice_ceiling(max(value for _, value in points))
    slot = plot_w / len(points)
    bar_w = max(slot * 0.8, 1.0)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for fraction in (0, 0.5, 1):
        y = top + plot_h - plot_h * fraction
        parts.append(
            f'<line class="chart-grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" '
            f'y2="{y:.1f}"/><text class="chart-axis" x="{left - 6}" y="{y + 4:.1f}" '
            f'text-anchor="end">{escape(whole_dollars(int(peak * fraction)))}</text>'
        )
    label_every = max(1, round(len(points) / 4))
    for index, (week, value) in enumerate(points):
        bar_h = plot_h * value / peak
        x = left + index * slot + (slot - bar_w) / 2
        y = top + plot_h - bar_h
        tip = f"Week of {week:%b %-d, %Y}: {value_format(value)}"
        parts.append(
            f'<rect class="chart-bar" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
            f'height="{bar_h:.1f}"><title>{escape(tip)}</title></rect>'
        )
        if (len(points) - 1 - index) % label_every == 0:  # the newest week always labelled
            parts.append(
                f'<text class="chart-axis" x="{x + bar_w / 2:.1f}" y="{height - 8}" '
                f'text-anchor="middle">{week:%b %-d}</text>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every variable part is escaped above


LABEL_CHARS = 52  # what fits the split chart's width at its label size


def split_bar_chart(
    rows: Sequence[tuple[str, int]],
    *,
    title: str,
    value_format: Callable[[int], str] = format_cents,
    width: int = 480,
    max_rows: int = 10,
) -> SafeString:
    """Horizontal bars, one per charity, largest first; the tail is summed as "Others"."""
    rows = sorted(rows, key=lambda row: -row[1])
    if len(rows) > max_rows:
        rest = sum(value for _, value in rows[max_rows - 1 :])
        rows = [*rows[: max_rows - 1], (f"{len(rows) - max_rows + 1} others", rest)]
    rows = [row for row in rows if row[1] > 0]
    if not rows:
        return mark_safe("")
    shares = percentages([value for _, value in rows])
    row_h, gap, label_h = 20, 12, 20
    height = len(rows) * (row_h + gap + label_h) + 4
    peak = max(value for _, value in rows)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    y = 0
    for index, (label, value) in enumerate(rows):
        share = shares[index]
        bar_w = max((width - 4) * value / peak, 2)
        text = f"{label} · {value_format(value)} ({share}%)"
        # Long charity names would run off the chart: the amount is what must show, so the
        # name is shortened in the label and kept whole in the tooltip.
        limit = LABEL_CHARS - len(text) + len(label)
        short = label if len(label) <= limit else label[: max(limit - 1, 8)].rstrip() + "…"
        shown = f"{short} · {value_format(value)} ({share}%)"
        parts.append(
            f'<text class="chart-label" x="0" y="{y + label_h - 5}">{escape(shown)}</text>'
            f'<rect class="chart-c{index % BAR_CLASSES}" x="0" y="{y + label_h}" '
            f'width="{bar_w:.1f}" height="{row_h}" rx="3"><title>{escape(text)}</title></rect>'
        )
        y += row_h + gap + label_h
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every variable part is escaped above

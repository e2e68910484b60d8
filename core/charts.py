"""Server-rendered charts: no JavaScript, no library, nothing for the CSP to allow.

Each function returns a SafeString of one chart element (`<div class="chart ...">`). Text
is HTML, never SVG `<text>`: an SVG drawn with a viewBox scales its text with the page
(a label read 22 px on a phone and 12 px in a narrow column, and a long name was cut), so
labels are HTML at a fixed size from site.css, wrapping like any text, and the SVGs inside
draw only shapes (bars, grid lines) stretched to the width they are given. Bar lengths are
SVG attributes (`width="42.0%"`), not `style=""`, so the markup needs no inline style.

Every label that could come from a user (a charity's name) is escaped here; colours come
from CSS classes in site.css. A chart always sits beside a table or a list of the same
numbers (the split chart is itself a list), so the picture is never the only way to read
the data; the weekly chart is one image with a summary for screen readers.
"""

import datetime as dt
from collections.abc import Callable, Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from core.templatetags.money import format_cents, percentages, whole_dollars

BAR_CLASSES = 8  # .chart-c0 .. .chart-c7 in site.css
PLOT_HEIGHT = 100  # the weekly plot's own units; CSS gives it its height in pixels
SLOT_WIDTH = 10  # one week's width in the plot's units (stretched to the chart's width)


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


def _axis_amount(cents: int) -> str:
    """$50 for whole dollars, $2.50 otherwise (half of a $5 axis is not "$2")."""
    return whole_dollars(cents) if cents % 100 == 0 else format_cents(cents)


def weekly_bar_chart(
    points: Sequence[tuple[dt.date, int]],
    *,
    title: str,
    value_format: Callable[[int], str] = format_cents,
) -> SafeString:
    """Vertical bars, one per week (oldest on the left), amounts in cents.

    The y axis (0, half, top) is a column of HTML labels beside the plot, centred on its
    grid lines by CSS; the x axis names the first and the last week under the plot's two
    ends. Each bar carries its week and amount as a tooltip, and the whole chart a
    one-sentence summary (role="img")."""
    if not points:
        return mark_safe("")
    values = [value for _, value in points]
    peak = _nice_ceiling(max(*values, 100))  # at least $1, so an all-zero chart has an axis
    width = SLOT_WIDTH * len(points)
    first, last = points[0][0], points[-1][0]
    if len(points) == 1:
        summary = f"{title}: {value_format(values[0])} in the week of {first:%b %-d, %Y}."
    else:
        summary = (
            f"{title}: {len(points)} weeks from {first:%b %-d, %Y} to {last:%b %-d, %Y}, "
            f"{value_format(sum(values))} in all, at most {value_format(max(values))} a week."
        )
    parts = [
        f'<div class="chart chart-weekly" role="img" aria-label="{escape(summary)}">',
        '<div class="chart-y">',
        *(
            f'<span class="chart-label chart-axis">{escape(_axis_amount(peak * n // 2))}</span>'
            for n in (2, 1, 0)
        ),
        "</div>",
        f'<svg class="chart-plot" viewBox="0 0 {width} {PLOT_HEIGHT}" preserveAspectRatio="none" '
        'aria-hidden="true" focusable="false" xmlns="http://www.w3.org/2000/svg">',
    ]
    for y in (0, PLOT_HEIGHT / 2, PLOT_HEIGHT):
        parts.append(
            f'<line class="chart-grid" x1="0" x2="{width}" y1="{y:g}" y2="{y:g}" '
            'vector-effect="non-scaling-stroke"/>'
        )
    for index, (week, value) in enumerate(points):
        bar_h = PLOT_HEIGHT * value / peak
        tip = f"Week of {week:%b %-d, %Y}: {value_format(value)}"
        parts.append(
            f'<rect class="chart-bar" x="{index * SLOT_WIDTH + 1}" y="{PLOT_HEIGHT - bar_h:.2f}" '
            f'width="{SLOT_WIDTH - 2}" height="{bar_h:.2f}"><title>{escape(tip)}</title></rect>'
        )
    parts.append("</svg>")
    parts.append('<div class="chart-x">')
    parts.append(f'<span class="chart-label chart-axis">{first:%b %-d, %Y}</span>')
    if len(points) > 1:
        parts.append(f'<span class="chart-label chart-axis">{last:%b %-d, %Y}</span>')
    parts.append("</div></div>")
    return mark_safe("".join(parts))  # noqa: S308 - every variable part is escaped above


def split_bar_chart(
    rows: Sequence[tuple[str, int]],
    *,
    title: str,
    value_format: Callable[[int], str] = format_cents,
    max_rows: int = 10,
) -> SafeString:
    """Horizontal bars, one per charity, largest first; the tail is summed as "Others".

    A list: each item is the charity's full name (wrapping onto as many lines as it
    needs), its amount and share, and under them a bar as long as its share of the
    largest row. Screen readers read the list as it stands."""
    rows = sorted(rows, key=lambda row: -row[1])
    if len(rows) > max_rows:
        rest = sum(value for _, value in rows[max_rows - 1 :])
        rows = [*rows[: max_rows - 1], (f"{len(rows) - max_rows + 1} others", rest)]
    rows = [row for row in rows if row[1] > 0]
    if not rows:
        return mark_safe("")
    shares = percentages([value for _, value in rows])
    peak = max(value for _, value in rows)
    parts = [
        f'<div class="chart chart-split"><ol class="chart-rows" role="list" '
        f'aria-label="{escape(title)}">'
    ]
    for index, (label, value) in enumerate(rows):
        bar = max(100 * value / peak, 0.5)
        parts.append(
            '<li class="chart-row"><span class="chart-label">'
            f'<span class="chart-name">{escape(label)}</span> '
            f'<span class="chart-value">· {escape(value_format(value))} ({shares[index]}%)</span>'
            '</span><svg class="chart-track" aria-hidden="true" focusable="false" '
            'xmlns="http://www.w3.org/2000/svg">'
            f'<rect class="chart-c{index % BAR_CLASSES}" width="{bar:.1f}%" height="100%" rx="3"/>'
            "</svg></li>"
        )
    parts.append("</ol></div>")
    return mark_safe("".join(parts))  # noqa: S308 - every variable part is escaped above

"""Server-rendered SVG charts for the usage dashboards (no JavaScript, no CDN), after billing/charts.py.

Colours come from CSS classes (static/analytics/usage.css: `.s-<name>`), not inline styles, so the same markup
serves the console and the admin. Every point carries a <title> for a hover tooltip.
"""
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from html import escape

from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT, PAD_LEFT, PAD_RIGHT, PAD_BOTTOM, PAD_TOP = 600, 220, 64, 10, 26, 12
PLOT_W, PLOT_H = WIDTH - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_BOTTOM - PAD_TOP


@dataclass(frozen=True)
class Series:
    """One line or bar series: its legend name, its CSS class suffix (`s-<css>`) and one value per day."""

    name: str
    css: str
    values: list[Decimal | int | None]


def _num(value: Decimal | int | float | None) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal("0")


def fmt(value: Decimal) -> str:
    """Compact tick and tooltip text: whole numbers bare, others with up to six decimals."""
    value = Decimal(value)
    if value == value.to_integral_value():
        return f"{value:.0f}"
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _scale(values: list[Decimal]) -> tuple[Decimal, Decimal]:
    top = max(values + [Decimal("0")])
    bottom = min(values + [Decimal("0")])
    if top == bottom:
        top = bottom + 1
    return bottom, top


def _y(value: Decimal, bottom: Decimal, top: Decimal) -> float:
    return PAD_TOP + PLOT_H * float((top - value) / (top - bottom))


def _frame(days: list[dt.date], bottom: Decimal, top: Decimal, label: str,
           x_of: Callable[[int], float]) -> list[str]:
    """Title, three horizontal grid lines with values, the zero line, and about six date labels."""
    parts = [f"<title>{escape(label)}</title>"]
    for frac in (Decimal("0"), Decimal("0.5"), Decimal("1")):
        value = bottom + (top - bottom) * frac
        y = _y(value, bottom, top)
        parts.append(f'<line class="grid" x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{y:.1f}" y2="{y:.1f}" />')
        parts.append(f'<text class="tick" x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{fmt(value)}</text>')
    if bottom < 0:
        y0 = _y(Decimal("0"), bottom, top)
        parts.append(f'<line class="zero" x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{y0:.1f}" y2="{y0:.1f}" />')
    every = max(1, len(days) // 6)
    for i, day in enumerate(days):
        if i % every == 0:
            parts.append(f'<text class="tick" x="{x_of(i):.1f}" y="{HEIGHT - 7}" text-anchor="middle">'
                         f'{day:%m-%d}</text>')
    return parts


def _legend(series: list[Series]) -> str:
    items = "".join(f'<span class="usage-legend-item s-{escape(s.css)}"><i></i>{escape(s.name)}</span>'
                    for s in series)
    return f'<div class="usage-legend">{items}</div>'


def _svg(parts: list[str], label: str, kind: str) -> str:
    return (f'<svg class="usage-chart usage-chart-{kind}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
            f'aria-label="{escape(label)}">{"".join(parts)}</svg>')


def bar_chart(days: list[dt.date], series: list[Series], *, label: str) -> SafeString:
    """Bars per day; several series are drawn side by side within the day's slot."""
    values = [_num(v) for s in series for v in s.values]
    bottom, top = _scale(values)
    step = PLOT_W / max(1, len(days))

    def x_of(i: int) -> float:
        return PAD_LEFT + step * (i + 0.5)

    parts = _frame(days, bottom, top, label, x_of)
    width = step * 0.76 / max(1, len(series))
    y0 = _y(Decimal("0"), bottom, top)
    for n, item in enumerate(series):
        for i, (day, raw) in enumerate(zip(days, item.values, strict=True)):
            value = _num(raw)
            y = _y(value, bottom, top)
            x = PAD_LEFT + step * i + step * 0.12 + width * n
            parts.append(f'<rect class="s-{escape(item.css)}" x="{x:.1f}" y="{min(y, y0):.1f}" width="{width:.1f}" '
                         f'height="{abs(y0 - y):.1f}" rx="1.5"><title>{escape(item.name)} {day.isoformat()}: '
                         f'{fmt(value)}</title></rect>')
    return mark_safe(_legend(series) + _svg(parts, label, "bar"))  # noqa: S308 - numbers and escaped text only


def line_chart(days: list[dt.date], series: list[Series], *, label: str) -> SafeString:
    """One polyline per series (days without a value, e.g. no latency, leave a gap) with a dot per point."""
    values = [_num(v) for s in series for v in s.values if v is not None]
    bottom, top = _scale(values)
    step = PLOT_W / max(1, len(days) - 1)

    def x_of(i: int) -> float:
        return PAD_LEFT + (step * i if len(days) > 1 else PLOT_W / 2)

    parts = _frame(days, bottom, top, label, x_of)
    for item in series:
        runs: list[list[tuple[float, float]]] = [[]]
        for i, (day, raw) in enumerate(zip(days, item.values, strict=True)):
            if raw is None:
                runs.append([])
                continue
            value = _num(raw)
            point = (x_of(i), _y(value, bottom, top))
            runs[-1].append(point)
            parts.append(f'<circle class="s-{escape(item.css)}" cx="{point[0]:.1f}" cy="{point[1]:.1f}" r="3">'
                         f'<title>{escape(item.name)} {day.isoformat()}: {fmt(value)}</title></circle>')
        for run in runs:
            if len(run) > 1:
                points = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
                parts.append(f'<polyline class="s-{escape(item.css)}" points="{points}" />')
    return mark_safe(_legend(series) + _svg(parts, label, "line"))  # noqa: S308 - numbers and escaped text only

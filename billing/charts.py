"""Inline SVG charts (no CDN, no JavaScript): bars per day and lines for the economics report."""
import datetime as dt
from decimal import Decimal
from html import escape

from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 640, 180, 48, 22, 10


def daily(series: dict, key: str, since: dt.date, days: int) -> list[tuple[dt.date, Decimal]]:
    """One point per day from `since`, zero where nothing happened."""
    return [(since + dt.timedelta(days=i), Decimal(str((series.get(since + dt.timedelta(days=i)) or {}).get(key, 0))))
            for i in range(days)]


def _fmt(value: Decimal) -> str:
    value = Decimal(value)
    if value == value.to_integral_value():
        return f"{value:.0f}"
    return f"{value:.4f}".rstrip("0")


def _axis(top: Decimal, label: str) -> list[str]:
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    parts = [f'<title>{escape(label)}</title>']
    for frac in (0, 0.5, 1):
        y = PAD_TOP + plot_h * (1 - frac)
        parts.append(f'<line x1="{PAD_LEFT}" x2="{WIDTH}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e7e9f0" />')
        parts.append(f'<text x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="10" fill="#7b8194">'
                     f'{_fmt(top * Decimal(str(frac)))}</text>')
    return parts


def bar_chart(points: list[tuple[dt.date, Decimal]], *, label: str, color: str = "#5b4cf0") -> SafeString:
    top = max([v for _d, v in points] + [Decimal("0")])
    top = top if top > 0 else Decimal("1")
    plot_w, plot_h = WIDTH - PAD_LEFT, HEIGHT - PAD_BOTTOM - PAD_TOP
    step = plot_w / max(1, len(points))
    parts = _axis(top, label)
    for i, (day, value) in enumerate(points):
        h = float(value / top) * plot_h
        x = PAD_LEFT + i * step + step * 0.15
        parts.append(f'<rect x="{x:.1f}" y="{PAD_TOP + plot_h - h:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}" '
                     f'rx="2" fill="{color}"><title>{day:%b %d}: {_fmt(value)}</title></rect>')
        if i % max(1, len(points) // 6) == 0:
            parts.append(f'<text x="{x:.1f}" y="{HEIGHT - 6}" font-size="10" fill="#7b8194">{day:%b %d}</text>')
    return mark_safe(  # noqa: S308 - built from numbers and escaped text only
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(label)}" '
        f'preserveAspectRatio="none" width="100%" height="{HEIGHT}">{"".join(parts)}</svg>')


def line_chart(days: list[dt.date], series: list[tuple[str, str, list[Decimal]]], *, label: str) -> SafeString:
    """Several series (name, colour, values) over the same days, with a legend."""
    values = [v for _n, _c, vals in series for v in vals]
    top = max(values + [Decimal("0")])
    bottom = min(values + [Decimal("0")])
    span = (top - bottom) or Decimal("1")
    plot_w, plot_h = WIDTH - PAD_LEFT, HEIGHT - PAD_BOTTOM - PAD_TOP
    step = plot_w / max(1, len(days) - 1) if len(days) > 1 else plot_w
    parts = _axis(top, label) if bottom >= 0 else [f"<title>{escape(label)}</title>"]

    def y_of(v: Decimal) -> float:
        return PAD_TOP + plot_h * float((top - v) / span)

    for name, color, vals in series:
        coords = [(PAD_LEFT + (i * step if len(days) > 1 else plot_w / 2), y_of(v)) for i, v in enumerate(vals)]
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2.5" points="'
                     + " ".join(f"{x:.1f},{y:.1f}" for x, y in coords) + '" />')
        for (x, y), v, day in zip(coords, vals, days, strict=True):
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{color}">'
                         f'<title>{escape(name)} {day:%b %d}: {_fmt(v)}</title></circle>')
    for i, day in enumerate(days):
        if i % max(1, len(days) // 6) == 0:
            x = PAD_LEFT + (i * step if len(days) > 1 else plot_w / 2)
            parts.append(f'<text x="{x:.1f}" y="{HEIGHT - 6}" font-size="10" fill="#7b8194" text-anchor="middle">'
                         f'{day:%b %d}</text>')
    legend = "".join(f'<span class="legend-item"><i style="background:{c}"></i>{escape(n)}</span>'
                     for n, c, _v in series)
    return mark_safe(  # noqa: S308 - built from numbers and escaped text only
        f'<div class="chart-legend">{legend}</div><svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(label)}" width="100%" height="{HEIGHT}">{"".join(parts)}</svg>')

"""Server-rendered SVG charts for the dashboard: no JavaScript, no CDN, readable without CSS.

Each chart is an <svg role="img"> with a <title>; the exact figures are in the table beside it.
"""

import math

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

# Colour-blind-safe (Okabe-Ito), in the order categories and actions are listed.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 56
# At most this many labels under the x axis, so that dates never overlap.
MAX_LABELS = 6


def _x_positions(count: int) -> list[float]:
    inner = WIDTH - LEFT - RIGHT
    if count == 1:
        return [LEFT + inner / 2]
    return [LEFT + inner * i / (count - 1) for i in range(count)]


def _y(percent: float) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - percent / 100)


def _axes(labels: list[str], xs: list[float]) -> SafeString:
    grid = format_html_join(
        "",
        '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#ddd"/><text x="{}" y="{}" text-anchor="end">{}%</text>',
        ((LEFT, WIDTH - RIGHT, _y(p), _y(p), LEFT - 6, _y(p) + 4, p) for p in (0, 25, 50, 75, 100)),
    )
    step = max(1, math.ceil(len(labels) / MAX_LABELS))
    ticks = format_html_join(
        "",
        '<text x="{}" y="{}" text-anchor="middle">{}</text>',
        ((xs[i], HEIGHT - BOTTOM + 18, labels[i]) for i in range(0, len(labels), step)),
    )
    return format_html("{}{}", grid, ticks)


def _legend(names: list[str]) -> SafeString:
    return format_html_join(
        "",
        '<rect x="{}" y="{}" width="12" height="12" fill="{}"/><text x="{}" y="{}">{}</text>',
        (
            (LEFT + 130 * i, HEIGHT - 22, PALETTE[i % len(PALETTE)], LEFT + 130 * i + 16, HEIGHT - 12, name)
            for i, name in enumerate(names)
        ),
    )


def line_chart(title: str, labels: list[str], series: dict[str, list[float]]) -> SafeString:
    """Percentages over time, one line (and dots) per series."""
    xs = _x_positions(len(labels))
    lines = []
    for i, values in enumerate(series.values()):
        colour = PALETTE[i % len(PALETTE)]
        points = " ".join(f"{x:.1f},{_y(v):.1f}" for x, v in zip(xs, values, strict=True))
        dots = format_html_join(
            "",
            '<circle cx="{}" cy="{}" r="3" fill="{}"/>',
            ((f"{x:.1f}", f"{_y(v):.1f}", colour) for x, v in zip(xs, values, strict=True)),
        )
        lines.append(
            format_html('<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>{}', colour, points, dots)
        )
    return _svg(title, format_html("{}{}{}", _axes(labels, xs), SafeString("".join(lines)), _legend(list(series))))


def stacked_bars(title: str, labels: list[str], series: dict[str, list[float]]) -> SafeString:
    """Shares that add up to 100% per period, as stacked columns."""
    xs = _x_positions(len(labels))
    inner = WIDTH - LEFT - RIGHT
    width = max(4.0, min(48.0, inner / max(1, len(labels)) * 0.7))
    bars = []
    for j, x in enumerate(xs):
        base = 0.0
        for i, values in enumerate(series.values()):
            share = values[j]
            if share:
                bars.append(
                    format_html(
                        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{} {}: {}%</title></rect>',
                        f"{x - width / 2:.1f}",
                        f"{_y(base + share):.1f}",
                        f"{width:.1f}",
                        f"{_y(base) - _y(base + share):.1f}",
                        PALETTE[i % len(PALETTE)],
                        labels[j],
                        list(series)[i],
                        share,
                    )
                )
            base += share
    return _svg(title, format_html("{}{}{}", _axes(labels, xs), SafeString("".join(bars)), _legend(list(series))))


def _svg(title: str, body: SafeString) -> SafeString:
    return format_html(
        '<svg class="chart" role="img" viewBox="0 0 {} {}" width="100%" font-size="11" font-family="sans-serif">'
        "<title>{}</title>{}</svg>",
        WIDTH,
        HEIGHT,
        title,
        body,
    )

"""The trend chart as inline SVG: no script, no font, no request, with <title>/<desc> for screen
readers (the page also shows the same numbers as a table)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from pal_audit.dashboard.view import SEVERITIES, TrendPoint

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP, PAD_RIGHT = 640, 220, 44, 28, 12, 12


@dataclass(frozen=True)
class Series:
    key: str                # CSS class of the line, also its legend entry
    label: str
    values: tuple[int, ...]


def series_of(points: Sequence[TrendPoint]) -> list[Series]:
    return [Series("credited", "credited customers", tuple(p.credited for p in points)),
            *(Series(s, f"open {s}", tuple(p.open_by_severity[s] for p in points)) for s in SEVERITIES)]


def trend_svg(points: Sequence[TrendPoint]) -> Markup:
    """A line per series over the runs, oldest left; empty string when there is nothing to draw."""
    if not points:
        return Markup("")
    series = series_of(points)
    top = max(1, *(v for s in series for v in s.values))
    inner_w, inner_h = WIDTH - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_TOP - PAD_BOTTOM
    step = inner_w / max(1, len(points) - 1)

    def x(i: int) -> float:
        return PAD_LEFT + (i * step if len(points) > 1 else inner_w / 2)

    def y(v: int) -> float:
        return PAD_TOP + inner_h - v * inner_h / top

    last = points[-1]
    desc = (f"{len(points)} runs from {points[0].at:%Y-%m-%d} to {last.at:%Y-%m-%d}. Latest: "
            f"{last.credited} credited customers, "
            + ", ".join(f"{last.open_by_severity[s]} open {s}" for s in SEVERITIES) + ".")
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        'aria-labelledby="trend-title trend-desc" xmlns="http://www.w3.org/2000/svg" '
        'preserveAspectRatio="xMidYMid meet">',
        '<title id="trend-title">Credited customers and open findings by severity, per run</title>',
        f'<desc id="trend-desc">{escape(desc)}</desc>',
        f'<line class="axis" x1="{PAD_LEFT}" y1="{PAD_TOP + inner_h}" x2="{WIDTH - PAD_RIGHT}" '
        f'y2="{PAD_TOP + inner_h}"/>',
        f'<line class="axis" x1="{PAD_LEFT}" y1="{PAD_TOP}" x2="{PAD_LEFT}" y2="{PAD_TOP + inner_h}"/>',
        f'<text class="tick" x="{PAD_LEFT - 6}" y="{PAD_TOP + 4}" text-anchor="end">{top}</text>',
        f'<text class="tick" x="{PAD_LEFT - 6}" y="{PAD_TOP + inner_h}" text-anchor="end">0</text>',
        f'<text class="tick" x="{x(0):.1f}" y="{HEIGHT - 8}" text-anchor="start">{points[0].at:%m-%d}</text>',
    ]
    if len(points) > 1:
        parts.append(f'<text class="tick" x="{x(len(points) - 1):.1f}" y="{HEIGHT - 8}" '
                     f'text-anchor="end">{last.at:%m-%d}</text>')
    for s in series:
        coords = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(s.values))
        parts.append(f'<polyline class="line {s.key}" fill="none" points="{coords}"/>')
        parts.extend(f'<circle class="dot {s.key}" cx="{x(i):.1f}" cy="{y(v):.1f}" r="3"/>'
                     for i, v in enumerate(s.values))
    parts.append("</svg>")
    return Markup("".join(parts))

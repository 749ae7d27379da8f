"""Server-side SVG charts (bar, line, donut) for dashboard widgets; no JavaScript.

Each function returns markup safe to embed; labels are escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

from markupsafe import Markup, escape

PALETTE = ("#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d")
Number = int | float | Decimal


def _f(value: Number) -> float:
    return float(value)


def bar(
    labels: Sequence[str], values: Sequence[Number], *, title: str = "", width: int = 420, height: int = 220
) -> Markup:
    """A vertical bar chart."""
    top, bottom, left = 16, 36, 8
    peak = max([_f(v) for v in values if _f(v) > 0] or [1])
    slot = (width - left * 2) / max(len(values), 1)
    bars = []
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        h = max(0.0, _f(value)) / peak * (height - top - bottom)
        x = left + index * slot + slot * 0.15
        y = height - bottom - h
        color = PALETTE[index % len(PALETTE)]
        bars.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" fill="{color}" rx="3">'
            f"<title>{escape(label)}: {escape(str(value))}</title></rect>"
            f'<text x="{x + slot * 0.35:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
            f'font-size="11" fill="#475569">{escape(_short(label))}</text>'
        )
    return _svg(width, height, title, "".join(bars))


def line(
    labels: Sequence[str], values: Sequence[Number], *, title: str = "", width: int = 420, height: int = 220
) -> Markup:
    """A line chart with points."""
    top, bottom, left = 16, 36, 16
    numbers = [_f(v) for v in values]
    low, high = min(numbers or [0]), max(numbers or [1])
    span = (high - low) or 1
    step = (width - left * 2) / max(len(numbers) - 1, 1)
    points = [
        (left + i * step, height - bottom - (v - low) / span * (height - top - bottom))
        for i, v in enumerate(numbers)
    ]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    body = [f'<polyline points="{path}" fill="none" stroke="{PALETTE[0]}" stroke-width="2"/>']
    for (x, y), label, value in zip(points, labels, values, strict=True):
        body.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{PALETTE[0]}"><title>{escape(label)}: '
            f"{escape(str(value))}</title></circle>"
            f'<text x="{x:.1f}" y="{height - bottom + 16}" text-anchor="middle" font-size="11" '
            f'fill="#475569">{escape(_short(label))}</text>'
        )
    return _svg(width, height, title, "".join(body))


def donut(labels: Sequence[str], values: Sequence[Number], *, title: str = "", size: int = 220) -> Markup:
    """A donut chart with a legend."""
    total = sum(max(0.0, _f(v)) for v in values) or 1.0
    radius, stroke = size / 2 - 20, 28
    circumference = 2 * math.pi * radius
    offset = 0.0
    arcs, legend = [], []
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        share = max(0.0, _f(value)) / total
        color = PALETTE[index % len(PALETTE)]
        arcs.append(
            f'<circle cx="{size / 2}" cy="{size / 2}" r="{radius:.1f}" fill="none" stroke="{color}" '
            f'stroke-width="{stroke}" stroke-dasharray="{share * circumference:.2f} {circumference:.2f}" '
            f'stroke-dashoffset="{-offset * circumference:.2f}" '
            f'transform="rotate(-90 {size / 2} {size / 2})"><title>{escape(label)}: {escape(str(value))}'
            f"</title></circle>"
        )
        legend.append(
            f'<rect x="{size + 10}" y="{20 + index * 20}" width="12" height="12" fill="{color}"/>'
            f'<text x="{size + 28}" y="{30 + index * 20}" font-size="12" fill="#334155">'
            f"{escape(_short(label, 22))} ({share:.0%})</text>"
        )
        offset += share
    return _svg(size + 180, max(size, 40 + len(values) * 20), title, "".join(arcs + legend))


def _short(label: str, limit: int = 12) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _svg(width: int, height: int, title: str, body: str) -> Markup:
    # Every label and value above went through escape(); numbers are formatted floats.
    return Markup(  # noqa: S704
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        f"{body}</svg>"
    )

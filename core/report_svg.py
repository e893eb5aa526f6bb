"""Small inline SVG charts for the static HTML report: no script, no network, opens from file://.

Each function returns one ``<svg class="chart" data-chart="...">`` element
whose marks (``path``/``circle`` for lines, ``rect`` for bars) carry a
``<title>`` with the exact figure, so a browser tooltip and a DOM check both
see the numbers. Every text is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#1d4ed8", "#059669", "#d97706", "#7c3aed", "#dc2626", "#0891b2", "#65a30d", "#db2777")
_W, _H = 640, 280
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 16, 52, 48
_PAD = 28  # room inside the plot for the first and last x labels


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar: its label, value and the note shown at its end (e.g. ``2/3``)."""

    label: str
    value: float
    note: str = ""


def _fmt(value: float, percent: bool) -> str:
    return f"{value * 100:.0f}%" if percent else f"{value:g}"


def nice_ceiling(value: float, percent: bool) -> float:
    """A round top for an axis with four gridlines: 20% steps for rates (ticks at 5% multiples);
    for counts, four whole steps of 1, 2, 3 or 5 times a power of ten."""
    if percent:
        return min(1.0, max(0.2, math.ceil(value * 5 - 1e-9) / 5))
    quarter = max(value, 1.0) / 4
    magnitude = 10 ** math.floor(math.log10(quarter))
    step = next(m * magnitude for m in (1, 2, 3, 5, 10) if m * magnitude >= quarter)
    return 4 * max(step, 1.0)


def _open(name: str, title: str, width: int = _W, height: int = _H) -> list[str]:
    return [
        f'<svg class="chart" data-chart="{escape(name)}" role="img" aria-label="{escape(title)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<text class="chart-title" x="{_LEFT}" y="20">{escape(title)}</text>',
    ]


def _y_axis(top: float, percent: bool, width: int = _W) -> list[str]:
    parts = []
    plot_h = _H - _TOP - _BOTTOM
    for i in range(5):
        value = top * i / 4
        y = _H - _BOTTOM - plot_h * i / 4
        parts.append(f'<line class="grid" x1="{_LEFT}" x2="{width - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="axis" x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(value, percent)}</text>')
    return parts


def _x_labels(labels: Sequence[str], xs: Sequence[float]) -> list[str]:
    step = max(1, math.ceil(len(labels) / 10))
    return [f'<text class="axis" x="{x:.1f}" y="{_H - _BOTTOM + 18}" text-anchor="middle">{escape(label)}</text>'
            for i, (label, x) in enumerate(zip(labels, xs)) if i % step == 0]  # fmt: skip


def _empty(parts: list[str], message: str) -> str:
    parts.append(f'<text class="empty" x="{_W / 2}" y="{_H / 2}" text-anchor="middle">{escape(message)}</text>')
    return "\n".join([*parts, "</svg>"])


def line_chart(name: str, title: str, labels: Sequence[str], series: dict[str, Sequence[float | None]],
               percent: bool = True) -> str:  # fmt: skip
    """One line per series over the labels; a None value is a gap (nothing to measure there)."""
    parts = _open(name, title)
    values = [v for s in series.values() for v in s if v is not None]
    if not labels or not values:
        return _empty(parts, "no data in this window")
    top = nice_ceiling(max(values), percent)
    parts += _y_axis(top, percent)
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM
    inner = plot_w - 2 * _PAD
    xs = ([_LEFT + plot_w / 2] if len(labels) == 1
          else [_LEFT + _PAD + inner * i / (len(labels) - 1) for i in range(len(labels))])  # fmt: skip
    parts += _x_labels(labels, xs)
    for index, (series_name, points) in enumerate(series.items()):
        color = PALETTE[index % len(PALETTE)]
        coords = [(x, _H - _BOTTOM - plot_h * v / top, v, label)
                  for x, v, label in zip(xs, points, labels) if v is not None]  # fmt: skip
        path = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y, _, _) in enumerate(coords))
        parts.append(f'<path class="series" data-series="{escape(series_name)}" d="{path}" stroke="{color}"/>')
        for x, y, v, label in coords:
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{color}">'
                         f"<title>{escape(series_name)} {escape(label)}: {_fmt(v, percent)}</title></circle>")
        legend_x = _LEFT + 8 + index * 110
        parts.append(f'<rect class="legend" x="{legend_x}" y="{_H - 16}" width="10" height="10" fill="{color}"/>')
        parts.append(f'<text class="axis" x="{legend_x + 14}" y="{_H - 7}">{escape(series_name)}</text>')
    return "\n".join([*parts, "</svg>"])


def bar_chart(name: str, title: str, bars: Sequence[Bar], percent: bool = True) -> str:
    """Vertical bars with their notes above them."""
    parts = _open(name, title)
    if not bars:
        return _empty(parts, "no data in this window")
    top = nice_ceiling(max(b.value for b in bars), percent)
    parts += _y_axis(top, percent)
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM
    slot = plot_w / len(bars)
    width = min(64.0, slot * 0.6)
    for i, bar in enumerate(bars):
        x = _LEFT + slot * i + (slot - width) / 2
        height = plot_h * bar.value / top
        y = _H - _BOTTOM - height
        tip = f"{bar.label}: {_fmt(bar.value, percent)}" + (f" ({bar.note})" if bar.note else "")
        parts.append(f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}" '
                     f'fill="{PALETTE[0]}"><title>{escape(tip)}</title></rect>')
        note = _fmt(bar.value, percent) + (f" ({bar.note})" if bar.note else "")
        parts.append(f'<text class="value" x="{x + width / 2:.1f}" y="{y - 5:.1f}" text-anchor="middle">'
                     f"{escape(note)}</text>")
        parts.append(f'<text class="axis" x="{x + width / 2:.1f}" y="{_H - _BOTTOM + 18}" text-anchor="middle">'
                     f"{escape(bar.label)}</text>")
    return "\n".join([*parts, "</svg>"])


def hbar_chart(name: str, title: str, bars: Sequence[Bar], label_width: int = 170) -> str:
    """Horizontal bars, largest first as given, for counts with long labels (reasons)."""
    row_h = 26
    height = max(_H // 2, _TOP + row_h * len(bars) + 8)
    parts = _open(name, title, height=height)
    if not bars:
        return _empty(parts, "no escalations in this window")
    top = nice_ceiling(max(b.value for b in bars), False)
    plot_w = _W - label_width - _RIGHT - 48
    for i, bar in enumerate(bars):
        y = _TOP + i * row_h
        width = max(plot_w * bar.value / top, 1.0)
        color = PALETTE[i % len(PALETTE)]
        parts.append(f'<text class="axis" x="{label_width - 8}" y="{y + 16}" text-anchor="end">{escape(bar.label)}</text>')
        parts.append(f'<rect class="bar" x="{label_width}" y="{y + 4}" width="{width:.1f}" height="{row_h - 8}" '
                     f'fill="{color}"><title>{escape(bar.label)}: {_fmt(bar.value, False)}</title></rect>')
        note = _fmt(bar.value, False) + (f" {bar.note}" if bar.note else "")
        parts.append(f'<text class="value" x="{label_width + width + 6:.1f}" y="{y + 16}">{escape(note)}</text>')
    return "\n".join([*parts, "</svg>"])

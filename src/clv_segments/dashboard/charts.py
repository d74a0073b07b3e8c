"""Small inline SVG charts for the CLV dashboard: drawn in Python, no JavaScript, no network.

Each function returns one ``<svg>`` element as text, scaled by its viewBox to the width of its
container, with a ``<title>`` and an aria-label so that a screen reader (and a test) can read
what it shows. Colours come from the dashboard's palette below.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from html import escape

__all__ = [
    "ACCENT",
    "GREEN",
    "INK",
    "MUTED",
    "NEUTRAL",
    "RED",
    "SERIES_COLORS",
    "YELLOW",
    "Bar",
    "CalibrationPoint",
    "CalibrationSeries",
    "HistogramBin",
    "PairedBar",
    "TimelinePoint",
    "calibration_plot",
    "histogram",
    "horizontal_bars",
    "nice_step",
    "paired_bars",
    "timeline",
]

GREEN = "#2e9e5b"  # churn risk low (Klaviyo's green)
YELLOW = "#e0a800"  # churn risk medium
RED = "#d64545"  # churn risk high
NEUTRAL = "#3b6fb6"
ACCENT = "#9c6ade"
INK = "#1f2933"
MUTED = "#8a96a3"
GRID = "#e4e8ee"
SERIES_COLORS = (ACCENT, "#d9822b", "#2a9d8f")
"""Further series beside an emphasised NEUTRAL one (no green, yellow or red: those are churn's)."""
FONT = "font-family='system-ui, -apple-system, Segoe UI, Roboto, sans-serif'"


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    color: str = NEUTRAL
    value_text: str | None = None  # shown after the bar; default: value_format(value)


@dataclass(frozen=True)
class HistogramBin:
    low: float
    high: float | None  # None: the open-ended last bin (low and above)
    count: int


@dataclass(frozen=True)
class PairedBar:
    label: str
    first: float  # fractions in [0, 1]
    second: float


@dataclass(frozen=True)
class CalibrationPoint:
    predicted: float  # mean predicted probability of a band, in [0, 1]
    observed: float  # share observed in that band, in [0, 1]
    label: str  # what the point is, for its tooltip (e.g. "band 3, 468 customers")


@dataclass(frozen=True)
class CalibrationSeries:
    key: str  # data-series attribute of its points (e.g. the model name)
    name: str  # legend
    points: Sequence[CalibrationPoint]
    color: str = NEUTRAL
    emphasised: bool = False  # drawn thicker, on top


@dataclass(frozen=True)
class TimelinePoint:
    day: date
    label: str
    kind: str  # order | today | expected


def nice_step(span: float, target_steps: int) -> float:
    """A 1-2-5 step that cuts ``span`` into about ``target_steps`` pieces (1 when span <= 0)."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / max(target_steps, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _number(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if value == int(value):
        return f"{int(value)}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _percent(value: float) -> str:
    return f"{value * 100:.1f} %"


def _label_width(labels: Iterable[str]) -> int:
    """Room for the longest label at 13 px (about 7.2 px a character), within 80..300."""
    longest = max((len(label) for label in labels), default=0)
    return int(min(max(longest * 7.2 + 16, 80), 300))


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    label = escape(title, quote=True)
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' "
        f"role='img' aria-label='{label}' class='chart' {FONT}>"
        f"<title>{escape(title)}</title>" + "".join(body) + "</svg>"
    )


def horizontal_bars(
    bars: Sequence[Bar],
    *,
    title: str,
    value_format: Callable[[float], str] = _number,
    width: int = 640,
) -> str:
    """One horizontal bar per row, labelled on the left, its value on the right."""
    label_width = _label_width(bar.label for bar in bars)
    row, top = 28, 8
    height = top * 2 + row * max(len(bars), 1)
    value_room = 110
    area = width - label_width - value_room
    largest = max((bar.value for bar in bars), default=0.0) or 1.0
    body: list[str] = []
    for index, bar in enumerate(bars):
        y = top + index * row
        length = max(area * bar.value / largest, 0.0)
        text = bar.value_text if bar.value_text is not None else value_format(bar.value)
        body.append(
            f"<text x='{label_width - 8}' y='{y + 18}' text-anchor='end' font-size='13' "
            f"fill='{INK}'>{escape(bar.label)}</text>"
            f"<rect x='{label_width}' y='{y + 5}' width='{length:.1f}' height='18' rx='3' "
            f"fill='{bar.color}'><title>{escape(bar.label)}: {escape(text)}</title></rect>"
            f"<text x='{label_width + length + 6:.1f}' y='{y + 18}' font-size='12' "
            f"fill='{INK}'>{escape(text)}</text>"
        )
    return _svg(width, height, title, body)


def histogram(
    bins: Sequence[HistogramBin],
    *,
    title: str,
    x_format: Callable[[float], str] = _number,
    width: int = 640,
    height: int = 260,
) -> str:
    """Vertical bars of counts per bin; the last bin may be open-ended (shown as "x+")."""
    left, right, top, bottom = 56, 12, 12, 42
    plot_w, plot_h = width - left - right, height - top - bottom
    largest = max((b.count for b in bins), default=0) or 1
    step = nice_step(largest, 4)
    y_max = math.ceil(largest / step) * step
    body: list[str] = []
    tick = 0.0
    while tick <= y_max + 1e-9:
        y = top + plot_h - plot_h * tick / y_max
        body.append(
            f"<line x1='{left}' x2='{width - right}' y1='{y:.1f}' y2='{y:.1f}' stroke='{GRID}'/>"
            f"<text x='{left - 6}' y='{y + 4:.1f}' text-anchor='end' font-size='11' "
            f"fill='{MUTED}'>{_number(tick)}</text>"
        )
        tick += step
    n = max(len(bins), 1)
    slot = plot_w / n
    label_every = max(1, math.ceil(n / 8))
    for index, b in enumerate(bins):
        x = left + index * slot
        bar_h = plot_h * b.count / y_max
        span = (
            f"{x_format(b.low)}+" if b.high is None else f"{x_format(b.low)} to {x_format(b.high)}"
        )
        body.append(
            f"<rect x='{x + 1:.1f}' y='{top + plot_h - bar_h:.1f}' width='{max(slot - 2, 1):.1f}' "
            f"height='{bar_h:.1f}' fill='{NEUTRAL}'><title>{escape(span)}: "
            f"{b.count:,} customers</title></rect>"
        )
        if index % label_every == 0 or b.high is None:
            text = f"{x_format(b.low)}+" if b.high is None else x_format(b.low)
            body.append(
                f"<text x='{x + 1:.1f}' y='{top + plot_h + 16}' font-size='11' "
                f"fill='{MUTED}'>{escape(text)}</text>"
            )
    body.append(
        f"<line x1='{left}' x2='{width - right}' y1='{top + plot_h}' y2='{top + plot_h}' "
        f"stroke='{MUTED}'/>"
    )
    return _svg(width, height, title, body)


def paired_bars(
    rows: Sequence[PairedBar],
    *,
    title: str,
    first_name: str,
    second_name: str,
    width: int = 640,
) -> str:
    """Two thin bars per row (e.g. share of customers, share of revenue), as percentages."""
    label_width = _label_width(r.label for r in rows)
    row, top = 34, 30
    height = top + row * max(len(rows), 1) + 8
    area = width - label_width - 70
    largest = max((max(r.first, r.second) for r in rows), default=0.0) or 1.0
    body = [
        f"<rect x='{label_width}' y='6' width='12' height='12' fill='{NEUTRAL}'/>"
        f"<text x='{label_width + 16}' y='16' font-size='12' fill='{INK}'>"
        f"{escape(first_name)}</text>"
        f"<rect x='{label_width + 160}' y='6' width='12' height='12' fill='{ACCENT}'/>"
        f"<text x='{label_width + 176}' y='16' font-size='12' fill='{INK}'>"
        f"{escape(second_name)}</text>"
    ]
    for index, r in enumerate(rows):
        y = top + index * row
        body.append(
            f"<text x='{label_width - 8}' y='{y + 18}' text-anchor='end' font-size='13' "
            f"fill='{INK}'>{escape(r.label)}</text>"
        )
        for offset, value, color, name in (
            (4, r.first, NEUTRAL, first_name),
            (17, r.second, ACCENT, second_name),
        ):
            length = area * value / largest
            body.append(
                f"<rect x='{label_width}' y='{y + offset}' width='{length:.1f}' height='11' "
                f"rx='2' fill='{color}'><title>{escape(r.label)}, {escape(name)}: "
                f"{value:.1%}</title></rect>"
                f"<text x='{label_width + length + 5:.1f}' y='{y + offset + 10}' "
                f"font-size='11' fill='{INK}'>{value:.1%}</text>"
            )
    return _svg(width, height, title, body)


def timeline(
    points: Sequence[TimelinePoint], *, title: str, width: int = 360, height: int = 64
) -> str:
    """A line from the first to the last point: orders as dots, today as a bar, the expected
    next order as a diamond (as on Klaviyo's example profiles)."""
    if not points:
        return _svg(width, height, title, [])
    left, right, mid = 12, 12, 26
    first = min(p.day for p in points)
    last = max(p.day for p in points)
    span = max((last - first).days, 1)

    def x_of(day: date) -> float:
        return left + (width - left - right) * (day - first).days / span

    body = [
        f"<line x1='{left}' x2='{width - right}' y1='{mid}' y2='{mid}' stroke='{GRID}' "
        "stroke-width='3'/>"
    ]
    for p in sorted(points, key=lambda p: p.day):
        x = x_of(p.day)
        tip = f"<title>{escape(p.label)}: {p.day.isoformat()}</title>"
        if p.kind == "expected":
            body.append(
                f"<path d='M {x:.1f} {mid - 8} L {x + 8:.1f} {mid} L {x:.1f} {mid + 8} "
                f"L {x - 8:.1f} {mid} Z' fill='{ACCENT}'>{tip}</path>"
            )
        elif p.kind == "today":
            body.append(
                f"<rect x='{x - 1.5:.1f}' y='{mid - 12}' width='3' height='24' fill='{INK}'>"
                f"{tip}</rect>"
            )
        else:
            body.append(f"<circle cx='{x:.1f}' cy='{mid}' r='6' fill='{NEUTRAL}'>{tip}</circle>")
    body.append(
        f"<text x='{left}' y='{height - 6}' font-size='11' fill='{MUTED}'>"
        f"{first.isoformat()}</text>"
        f"<text x='{width - right}' y='{height - 6}' font-size='11' text-anchor='end' "
        f"fill='{MUTED}'>{last.isoformat()}</text>"
    )
    return _svg(width, height, title, body)


def calibration_plot(
    series: Sequence[CalibrationSeries],
    *,
    title: str,
    x_name: str,
    y_name: str,
    value_format: Callable[[float], str] = _percent,
    plot_size: int = 300,
) -> str:
    """Observed share against predicted probability, both from 0 to 1, one line of dots per
    series, with the diagonal of perfect calibration (observed = predicted) and a legend on the
    right. An emphasised series is drawn thicker and last, on top of the others."""
    left, top, bottom, legend = 52, 12, 44, 190
    width, height = left + plot_size + 16 + legend, top + plot_size + bottom

    def x_of(value: float) -> float:
        return left + plot_size * min(max(value, 0.0), 1.0)

    def y_of(value: float) -> float:
        return top + plot_size * (1 - min(max(value, 0.0), 1.0))

    body: list[str] = []
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        body.append(
            f"<line x1='{x_of(0)}' x2='{x_of(1)}' y1='{y_of(tick):.1f}' y2='{y_of(tick):.1f}' "
            f"stroke='{GRID}'/>"
            f"<line x1='{x_of(tick):.1f}' x2='{x_of(tick):.1f}' y1='{y_of(0)}' y2='{y_of(1)}' "
            f"stroke='{GRID}'/>"
            f"<text x='{left - 6}' y='{y_of(tick) + 4:.1f}' text-anchor='end' font-size='11' "
            f"fill='{MUTED}'>{tick * 100:.0f} %</text>"
            f"<text x='{x_of(tick):.1f}' y='{y_of(0) + 16}' text-anchor='middle' font-size='11' "
            f"fill='{MUTED}'>{tick * 100:.0f} %</text>"
        )
    body.append(
        f"<text x='{x_of(0.5):.1f}' y='{height - 8}' text-anchor='middle' font-size='12' "
        f"fill='{INK}'>{escape(x_name)}</text>"
        f"<text x='14' y='{y_of(0.5):.1f}' text-anchor='middle' font-size='12' fill='{INK}' "
        f"transform='rotate(-90 14 {y_of(0.5):.1f})'>{escape(y_name)}</text>"
        f"<line x1='{x_of(0)}' y1='{y_of(0)}' x2='{x_of(1)}' y2='{y_of(1)}' stroke='{MUTED}' "
        "stroke-width='1.5' stroke-dasharray='5 4'><title>perfect calibration: observed = "
        "predicted</title></line>"
    )
    legend_x = left + plot_size + 16
    entries = [("perfect calibration", MUTED, "5 4", 1.5)] + [
        (s.name, s.color, "", 3.0 if s.emphasised else 1.5) for s in series
    ]
    for index, (name, color, dash, stroke) in enumerate(entries):
        y = top + 10 + index * 20
        dash_attr = f" stroke-dasharray='{dash}'" if dash else ""
        body.append(
            f"<line x1='{legend_x}' x2='{legend_x + 22}' y1='{y}' y2='{y}' stroke='{color}' "
            f"stroke-width='{stroke}'{dash_attr}/>"
            f"<text x='{legend_x + 28}' y='{y + 4}' font-size='12' fill='{INK}'>"
            f"{escape(name)}</text>"
        )
    for s in sorted(series, key=lambda s: s.emphasised):
        points = sorted(s.points, key=lambda p: p.predicted)
        stroke, radius, opacity = (3.0, 5, 1.0) if s.emphasised else (1.5, 3.5, 0.75)
        if len(points) > 1:
            path = " ".join(f"{x_of(p.predicted):.1f},{y_of(p.observed):.1f}" for p in points)
            body.append(
                f"<polyline points='{path}' fill='none' stroke='{s.color}' "
                f"stroke-width='{stroke}' opacity='{opacity}'/>"
            )
        for p in points:
            tip = (
                f"{s.name}, {p.label}: predicted {value_format(p.predicted)}, "
                f"observed {value_format(p.observed)}"
            )
            body.append(
                f"<circle cx='{x_of(p.predicted):.1f}' cy='{y_of(p.observed):.1f}' r='{radius}' "
                f"fill='{s.color}' opacity='{opacity}' data-series='{escape(s.key, quote=True)}'>"
                f"<title>{escape(tip)}</title></circle>"
            )
    return _svg(width, height, title, body)

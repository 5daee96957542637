"""Pure functions from plain data (bars, metrics, notes) to one Valohai status text.

A status is lines; every line here is one rich element of valid, single-line JSON:
``{"type":"text"|"gauge"|"sparkline", ...}``. Nothing in this module does I/O, keeps state or
raises on odd input: any bar state and any values give a small, valid status.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

from tqdm.std import tqdm as _std

from ._text import clean, format_value

RUNNING = "running"
COMPLETE = "complete"
EARLY = "early"  # closed before reaching its total
FAILED = "failed"
INTERRUPTED = "interrupted"
OUTCOME_COLOR = {COMPLETE: "good", EARLY: "warn", FAILED: "bad", INTERRUPTED: "warn"}

MAX_BARS = 6  # gauges shown; the rest are counted in one text line
MAX_CHARTS = 6  # metrics shown with a sparkline
MAX_POINTS = 200
MAX_BYTES = 16_000  # the whole status; metrics lines go first when a status would be larger
DESC_CHARS = 40
NAME_CHARS = 32
TEXT_CHARS = 160


@dataclass(frozen=True)
class BarView:
    """What a status needs of one progress bar (a snapshot; units as the bar counts them)."""

    desc: str = ""
    n: float = 0
    total: float | None = None
    rate: float | None = None  # units per second, None before it is known
    elapsed: float = 0.0
    unit: str = "it"
    unit_scale: bool | float = False
    unit_divisor: float = 1000
    outcome: str = RUNNING


@dataclass(frozen=True)
class MetricView:
    """One metric: its latest value, its curve over the whole run, its extremes and first NaN."""

    name: str
    value: object
    points: Sequence[float] = ()  # oldest first, at most sparkline_window
    charted: bool = False
    low: object = None  # the run's minimum and maximum finite value
    high: object = None
    bad: object = None  # the first non-finite value (nan, inf, -inf), if any
    bad_step: object = None  # and the step (the reporting bar's count) it came at


@dataclass(frozen=True)
class Note:
    """A line of text with an optional color (a milestone, or how the job ended)."""

    text: str
    color: str | None = None


# -- text and numbers ---------------------------------------------------------------------------


def finite(value: object) -> float | None:
    """``value`` as a finite float, or None (NaN, infinities, non-numbers, overflowing ints)."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _round(value: float, digits: int = 4) -> int | float:
    """A compact JSON number: integers stay integers, floats keep ``digits`` significant digits."""
    value = float(value)  # an int has no is_integer() before Python 3.12
    if value.is_integer() and abs(value) < 1e15:
        return int(value)
    rounded = float(f"{value:.{digits}g}")
    return rounded if math.isfinite(rounded) else value  # 1.7976e308 rounds up to inf


def color(value: str | None) -> str | None:
    """A color as Valohai takes it (good, bad, warn or a CSS color), or None if unusable."""
    if value is None:
        return None
    text = clean(value, 32)
    return text or None


# -- elements -----------------------------------------------------------------------------------


def _dump(element: dict[str, object]) -> str:
    # ASCII-only JSON: no raw line separator (U+2028, NEL...) can split the line downstream.
    return json.dumps(element, ensure_ascii=True, allow_nan=False, separators=(",", ":"))


def text_line(text: str, color_: str | None = None) -> str:
    element: dict[str, object] = {"type": "text", "text": clean(text, TEXT_CHARS)}
    if color(color_):
        element["color"] = color(color_)
    return _dump(element)


def gauge_line(value: float, maximum: float, label: str, color_: str | None = None) -> str:
    element: dict[str, object] = {
        "type": "gauge",
        "value": _round(min(max(value, 0.0), maximum), 6),
        "min": 0,
        "max": _round(maximum, 6),
        "label": clean(label, TEXT_CHARS),
    }
    if color(color_):
        element["color"] = color(color_)
    return _dump(element)


def sparkline_line(points: Sequence[float], color_: str | None = None) -> str:
    values = [_round(p) for p in (finite(p) for p in points[-MAX_POINTS:]) if p is not None]
    element: dict[str, object] = {"type": "sparkline", "values": values}
    if color(color_):
        element["color"] = color(color_)
    return _dump(element)


# -- bars ---------------------------------------------------------------------------------------


def _count(value: float, si: bool, divisor: float) -> str:
    if si:
        return str(_std.format_sizeof(value, divisor=divisor))
    return str(_round(value, 6))


def _rate(rate: float | None, unit: str, si: bool) -> str:
    if not rate or rate <= 0:
        return ""
    if si:
        return f"{_std.format_sizeof(rate)}{unit}/s"
    if rate < 1:
        return f"{_three(1 / rate)} s/{unit}"
    return f"{_three(rate)} {unit}/s"


def _three(x: float) -> str:
    """About three significant digits without exponent: ``1234``, ``38.2``, ``2.00``."""
    return f"{x:.0f}" if x >= 100 else f"{x:.1f}" if x >= 10 else f"{x:.2f}"


def _duration(seconds: float) -> str:
    """tqdm's ``[H:]MM:SS``; ``?`` beyond a century (or when not finite)."""
    return str(_std.format_interval(seconds)) if 0 <= seconds < 3.2e9 else "?"


def bar_label(bar: BarView) -> str:
    """``train 412/1875 · 38.2 it/s · ETA 00:40`` (tqdm's units, scaling and time format)."""
    n = finite(bar.n) or 0.0
    total = finite(bar.total)
    rate = finite(bar.rate)
    elapsed = finite(bar.elapsed) or 0.0
    unit = clean(bar.unit, 16) or "it"
    scale = bar.unit_scale
    si = scale is True
    factor = finite(scale) if not isinstance(scale, bool) else None
    if factor and factor != 1:
        n = finite(n * factor) or 0.0
        total = finite(total * factor) if total is not None else None
        rate = finite(rate * factor) if rate is not None else None
    divisor = finite(bar.unit_divisor) or 1000.0

    desc = clean(bar.desc, DESC_CHARS + 2).rstrip(":").rstrip()
    parts = []
    if total is not None and total > 0:
        suffix = "" if unit == "it" else (unit if si else f" {unit}")
        parts.append(f"{_count(n, si, divisor)}/{_count(total, si, divisor)}{suffix}")
    else:
        parts.append(f"{_count(n, si, divisor)}{'' if si and unit != 'it' else ' '}{unit}")
    speed = _rate(rate, unit, si)
    if speed:
        parts.append(speed)
    if bar.outcome != RUNNING:
        parts.append(f"in {_duration(elapsed)}")
    elif speed and total is not None and total > n and rate:
        parts.append(f"ETA {_duration((total - n) / rate)}")
    label = " \u00b7 ".join(parts)
    return f"{desc} {label}" if desc else label


def bar_line(bar: BarView) -> str:
    """A gauge when the total is known, a text element otherwise."""
    shade = OUTCOME_COLOR.get(bar.outcome)
    total = finite(bar.total)
    if total is not None and total > 0:
        return gauge_line(finite(bar.n) or 0.0, total, bar_label(bar), shade)
    return text_line(bar_label(bar), shade)


def position(bar: BarView) -> str:
    """Where a bar stopped, for the failure line: ``412/1875`` or ``1234 it``."""
    n = finite(bar.n) or 0.0
    total = finite(bar.total)
    if total is not None and total > 0:
        return f"{_round(n, 6)}/{_round(total, 6)}"
    return f"{_round(n, 6)} {clean(bar.unit, 16) or 'it'}"


# -- the whole status ---------------------------------------------------------------------------


def ending_line(kind: str, error: str, bars: Sequence[BarView]) -> str:
    """``Failed at 412/1875: RuntimeError: CUDA out of memory`` (innermost unfinished bar)."""
    unfinished = [b for b in bars if b.outcome not in (RUNNING, COMPLETE)]
    where = f" at {position(unfinished[-1])}" if unfinished else ""
    if kind == INTERRUPTED:
        return text_line(f"Interrupted{where}: {error}", "warn")
    return text_line(f"Failed{where}: {error}", "bad")


def _step(step: object) -> str:
    """``step 412``, or nothing when the step is unknown."""
    number = finite(step)
    return "" if number is None else f"step {_round(number, 6)}"


def metric_text(metric: MetricView) -> tuple[str, str | None]:
    """``loss 0.31 · nan at step 412 · min 0.12 · max 2.75`` and its color.

    The latest value not finite: ``loss nan since step 412`` in bad. Finite again, the first
    non-finite value is still told, in warn. Min and max show once they differ.
    """
    value = metric.value
    head = f"{clean(metric.name, NAME_CHARS) or '?'} {format_value(value)}"
    parts = [head]
    shade = None
    bad, where = metric.bad, _step(metric.bad_step)
    told = isinstance(bad, float) and finite(bad) is None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and finite(value) is None:
        shade = "bad"
        if told and where:
            parts = [f"{head} since {where}"]
    elif told:
        shade = "warn"
        parts.append(f"{format_value(bad)} at {where}" if where else f"{format_value(bad)} before")
    low, high = finite(metric.low), finite(metric.high)
    if low is not None and high is not None and low < high:
        parts.append(f"min {format_value(low)} \u00b7 max {format_value(high)}")
    return " \u00b7 ".join(parts), shade


def metric_lines(metrics: Sequence[MetricView]) -> list[str]:
    """For each charted metric a text then its sparkline; the rest share one summary line."""
    lines: list[str] = []
    rest: list[str] = []
    for metric in metrics:
        if metric.charted and len(lines) < 2 * MAX_CHARTS:
            text, shade = metric_text(metric)
            lines.append(text_line(text, shade))
            if any(finite(point) is not None for point in metric.points):
                lines.append(sparkline_line(metric.points, "bad" if shade == "bad" else None))
        else:
            rest.append(f"{clean(metric.name, NAME_CHARS) or '?'} {format_value(metric.value)}")
    if rest:
        lines.append(text_line(" \u00b7 ".join(rest)))
    return lines


def compose(
    bars: Sequence[BarView],
    metrics: Sequence[MetricView] = (),
    milestone: Note | None = None,
    ending: tuple[str, str] | None = None,
) -> str:
    """The status text: how it ended, the milestone, a line per bar, then the metrics.

    ``bars`` come outermost first; ``ending`` is ``(FAILED or INTERRUPTED, "Type: message")``.
    """
    lines = []
    if ending is not None:
        lines.append(ending_line(ending[0], ending[1], bars))
    if milestone is not None and clean(milestone.text, TEXT_CHARS):
        lines.append(text_line(milestone.text, milestone.color))
    lines.extend(bar_line(bar) for bar in bars[:MAX_BARS])
    if len(bars) > MAX_BARS:
        lines.append(text_line(f"+{len(bars) - MAX_BARS} more bars"))
    lines.extend(metric_lines(metrics))
    while len(lines) > 1 and sum(len(line) + 1 for line in lines) > MAX_BYTES:
        lines.pop()  # ASCII only: characters are bytes
    return "\n".join(lines)


def error_text(error: BaseException) -> str:
    """``RuntimeError: CUDA out of memory`` cut to about 100 characters, on one line."""
    name = type(error).__name__
    try:
        message = str(error)
    except Exception:
        message = ""
    return clean(f"{name}: {message}" if message else name, 100)

"""Status text → terminal lines: how ``vhtqdm watch`` and ``vhtqdm preview`` draw a status.

Pure and total: every line of any status becomes an element (a text, a gauge, a sparkline, or
the line itself as plain text when it is not a well-formed element) and every element becomes
one printable terminal line. ``assets/preview.js`` applies the same rules in the page.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Union

from .._text import clean, format_value

LINE_CHARS = 2000  # longest line kept from a status (the rest is cut, never wrapped)
GAUGE_CELLS = 24
SPARK_POINTS = 60  # the newest points drawn in a terminal sparkline
BLOCKS = "▁▂▃▄▅▆▇█"
_EIGHTHS = " ▏▎▍▌▋▊▉"  # a partly filled gauge cell, by eighths

RESET = "\x1b[0m"
DIM = "\x1b[2m"
_NAMED_SGR = {"good": "\x1b[32m", "bad": "\x1b[31m", "warn": "\x1b[33m"}
# CSS's sixteen basic color keywords (plus orange): enough for a terminal hint. Other names a
# browser knows draw uncolored here; the page itself renders every CSS color.
_CSS_BASIC = {
    "black": "000000", "silver": "c0c0c0", "gray": "808080", "grey": "808080",
    "white": "ffffff", "maroon": "800000", "red": "ff0000", "purple": "800080",
    "fuchsia": "ff00ff", "magenta": "ff00ff", "green": "008000", "lime": "00ff00",
    "olive": "808000", "yellow": "ffff00", "navy": "000080", "blue": "0000ff",
    "teal": "008080", "aqua": "00ffff", "cyan": "00ffff", "orange": "ffa500",
}  # fmt: skip
_HEX = re.compile(r"#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
_RGB = re.compile(r"rgba?\(\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*(?:,[^)]*)?\)")


@dataclass(frozen=True)
class Text:
    """``{"type":"text","text":…}``: a line of text, optionally colored."""

    text: str
    color: str | None = None


@dataclass(frozen=True)
class Gauge:
    """``{"type":"gauge","value":…}``: a bar from ``min`` (default 0) to ``max`` (default 1)."""

    value: float
    min: float = 0.0
    max: float = 1.0
    label: str = ""
    color: str | None = None

    @property
    def fraction(self) -> float:
        """How full the bar is, 0 to 1 (an empty or inverted range is full once value ≥ max)."""
        span = self.max - self.min
        if not span > 0:
            return 1.0 if self.value >= self.max else 0.0
        return min(max((self.value - self.min) / span, 0.0), 1.0)


@dataclass(frozen=True)
class Sparkline:
    """``{"type":"sparkline","values":[…]}``: a small line chart of numbers."""

    values: tuple[float, ...]
    color: str | None = None


@dataclass(frozen=True)
class Plain:
    """A line that is not a well-formed element (plain status text, or broken JSON): as is."""

    text: str


Element = Union[Text, Gauge, Sparkline, Plain]


# -- parsing ------------------------------------------------------------------------------------


def _reject_constant(name: str) -> float:
    """``json.loads``' hook for NaN and Infinity: refuse them."""
    raise ValueError(name)  # NaN / Infinity are not JSON (a browser's JSON.parse refuses them)


def _number(value: object) -> float | None:
    """A JSON number as a finite float; None for anything else (booleans included)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)  # a huge int becomes inf here, and is refused below
    return number if math.isfinite(number) else None


def _color(element: dict[str, object]) -> str | None:
    """An element's color when it is a usable string; any other value is ignored."""
    value = element.get("color")
    return (clean(value, 32) or None) if isinstance(value, str) else None


def parse_line(line: str) -> Element:
    """One status line as an element; anything that is not a well-formed element is Plain."""
    plain = Plain(clean(line, LINE_CHARS))
    stripped = line.strip()
    if not stripped.startswith("{"):
        return plain
    try:
        element = json.loads(stripped[: LINE_CHARS * 8], parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return plain
    if not isinstance(element, dict):
        return plain
    kind = element.get("type")
    if kind == "text":
        text = element.get("text")
        if not isinstance(text, str):
            return plain
        return Text(clean(text, LINE_CHARS), _color(element))
    if kind == "gauge":
        value = _number(element.get("value"))
        low = _number(element.get("min", 0))
        high = _number(element.get("max", 1))
        label = element.get("label", "")
        if value is None or low is None or high is None or not isinstance(label, str):
            return plain
        return Gauge(value, low, high, clean(label, LINE_CHARS), _color(element))
    if kind == "sparkline":
        values = element.get("values")
        if not isinstance(values, list):
            return plain
        numbers = [_number(v) for v in values]
        if any(n is None for n in numbers):
            return plain
        return Sparkline(tuple(n for n in numbers if n is not None), _color(element))
    return plain


def parse(status: str | None) -> list[Element]:
    """Every non-empty line of a status, in order."""
    if not status:
        return []
    return [parse_line(line) for line in status.splitlines() if line.strip()]


# -- drawing ------------------------------------------------------------------------------------


def sgr(color: str | None) -> str:
    """The escape sequence for a status color (good, bad, warn, #hex, rgb(), a basic name)."""
    if not color:
        return ""
    name = color.strip().lower()
    if name in _NAMED_SGR:
        return _NAMED_SGR[name]
    rgb: tuple[int, int, int] | None = None
    hexa = _HEX.fullmatch(name) or (
        _HEX.fullmatch("#" + _CSS_BASIC[name]) if name in _CSS_BASIC else None
    )
    if hexa:
        digits = hexa.group(1)
        if len(digits) == 3:
            digits = "".join(d * 2 for d in digits)
        rgb = (int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16))
    else:
        match = _RGB.fullmatch(name)
        if match:
            r, g, b = (min(int(part), 255) for part in match.groups())
            rgb = (r, g, b)
    return f"\x1b[38;2;{rgb[0]};{rgb[1]};{rgb[2]}m" if rgb else ""


def _paint(text: str, color: str | None, ansi: bool) -> str:
    """``text`` in ``color`` when ``ansi``, else as is."""
    code = sgr(color) if ansi else ""
    return f"{code}{text}{RESET}" if code else text


def fit(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, an ellipsis marking the cut."""
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def blocks(values: Sequence[float], points: int = SPARK_POINTS) -> str:
    """The newest ``points`` values as block characters, lowest ▁ to highest █ (flat: ▄)."""
    shown = list(values)[-max(points, 1) :]
    if not shown:
        return ""
    low, high = min(shown), max(shown)
    if not high > low:
        return BLOCKS[3] * len(shown)
    top = len(BLOCKS) - 1
    return "".join(BLOCKS[round((v - low) / (high - low) * top)] for v in shown)


def gauge_bar(fraction: float, cells: int = GAUGE_CELLS) -> str:
    """A bar of ``cells`` characters filled to ``fraction`` in eighths of a cell."""
    eighths = round(min(max(fraction, 0.0), 1.0) * cells * 8)
    full, part = divmod(eighths, 8)
    bar = "█" * full + (_EIGHTHS[part] if part and full < cells else "")
    return bar.ljust(cells)


def render_element(element: Element, width: int = 80, ansi: bool = False) -> str:
    """One terminal line of at most ``width`` visible characters."""
    width = max(width, 20)
    if isinstance(element, Gauge):
        percent = f"{element.fraction * 100:3.0f}%"
        bar = gauge_bar(element.fraction, min(GAUGE_CELLS, width // 3))
        label = fit(element.label, width - len(bar) - len(percent) - 4)
        return f"{_paint(bar, element.color, ansi)} {percent}  {label}".rstrip()
    if isinstance(element, Sparkline):
        if not element.values:
            return _paint("(no values)", None, ansi)
        extent = f"  {format_value(element.values[0])} → {format_value(element.values[-1])}"
        chart = blocks(element.values, min(SPARK_POINTS, width - len(extent)))
        return _paint(chart, element.color, ansi) + (f"{DIM}{extent}{RESET}" if ansi else extent)
    if isinstance(element, Text):
        return _paint(fit(element.text, width), element.color, ansi)
    return fit(element.text, width)


def render(status: str | None, width: int = 80, ansi: bool = False) -> list[str]:
    """A whole status as terminal lines (``(empty status)`` when it has none)."""
    elements = parse(status)
    if not elements:
        return [_paint("(empty status)", None, ansi)]
    return [render_element(element, width, ansi) for element in elements]

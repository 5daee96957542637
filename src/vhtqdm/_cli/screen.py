"""What ``vhtqdm watch`` shows in a terminal: a frame of one execution, or a row per execution.

Frames are drawn in place on a terminal (cursor up, clear), one after another elsewhere; colors
only on a terminal and without ``NO_COLOR``. The job's expected end is added to the gauge that
tells its ETA, in the viewer's local time: ``job 58% · ETA 2:14:05 · ends ~21:40``.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from typing import TextIO

from .._text import clean
from . import render
from .progress import SEP, Reading

STATUS_COLOR = {
    "started": "#4a90e2",
    "complete": "good",
    "error": "bad",
    "crashed": "bad",
    "stopped": "warn",
}
ROW_CELLS = 12  # a row's gauge and sparkline, in characters
PLAIN_WIDTH = 100  # the width of frames that do not go to a terminal


@dataclass(frozen=True)
class Terminal:
    """Where frames go: a terminal (in place, colored unless ``NO_COLOR``) or not."""

    out: TextIO
    tty: bool
    ansi: bool

    @classmethod
    def of(cls, out: TextIO, environ: Mapping[str, str]) -> Terminal:
        """``out`` as it is: a terminal or a pipe, a file, a log."""
        try:
            tty = out.isatty()
        except ValueError:  # closed
            tty = False
        return cls(out, tty, tty and not environ.get("NO_COLOR"))

    def width(self) -> int:
        """Visible characters a line may take now (a terminal can be resized between frames)."""
        return shutil.get_terminal_size().columns - 1 if self.tty else PLAIN_WIDTH


class Screen:
    """Draws frames: in place on a terminal (cursor up, clear), one after another elsewhere."""

    def __init__(self, out: TextIO, in_place: bool) -> None:
        """Draw on ``out``, replacing the previous frame when ``in_place``."""
        self.out = out
        self.in_place = in_place
        self._drawn = 0
        self._last: list[str] | None = None

    def draw(self, lines: list[str], note: str = "") -> None:
        """Show a frame (and a note under it) unless it is the one already shown."""
        shown = lines + ([note] if note else [])
        if shown == self._last:
            return
        if self.in_place:
            up = f"\x1b[{self._drawn}F" if self._drawn else ""
            self.out.write(up + "\x1b[J" + "\n".join(shown) + "\n")
        else:
            self.out.write(("\n" if self._last is not None else "") + "\n".join(shown) + "\n")
        self.out.flush()
        self._drawn = len(shown)
        self._last = shown


def local_time(moment: datetime, since: datetime, zone: tzinfo | None) -> str:
    """``21:40`` in ``zone`` (None: this machine's), ``Tue 09:15`` on another day of the week
    after ``since``, ``2025-03-09 09:15`` later."""
    try:
        here, start = moment.astimezone(zone), since.astimezone(zone)
    except (OverflowError, ValueError):
        return "?"
    if here.date() == start.date():
        return here.strftime("%H:%M")
    if 0 < (here.date() - start.date()).days < 7:
        return here.strftime("%a %H:%M")
    return f"{here.date().isoformat()} {here.strftime('%H:%M')}"


def _with_end(reading: Reading, index: int, zone: tzinfo | None) -> render.Element:
    """Element ``index``, with ``· ends ~21:40`` after the ETA when it is the one that told it."""
    element = reading.elements[index]
    ends = reading.ends
    if index != reading.progress.eta_index or ends is None or not isinstance(element, render.Gauge):
        return element
    eta = f"ETA {reading.progress.eta_text}"
    end = f"{eta}{SEP}ends ~{local_time(ends, reading.seen, zone)}"
    return replace(element, label=element.label.replace(eta, end, 1))


def header(reading: Reading, execution: str, ansi: bool) -> str:
    """``#42 train (my-project) · started``: who the status belongs to, and its state."""
    data = reading.execution
    project = data.get("project")
    name = project.get("name") if isinstance(project, dict) else None
    counter = data.get("counter")
    step = data.get("step")
    parts = [f"#{counter}" if isinstance(counter, int) else execution]
    if isinstance(step, str) and step:
        parts.append(step)
    if isinstance(name, str) and name:
        parts.append(f"({name})")
    status = reading.status or "unknown"
    state = render.Text(clean(status, 20), STATUS_COLOR.get(status))
    title = render.fit(" ".join(clean(p, 60) for p in parts), 70)
    return f"{title} · {render.render_element(state, 40, ansi)}"


def frame(
    reading: Reading, execution: str, width: int, ansi: bool, zone: tzinfo | None
) -> list[str]:
    """The lines of one redraw: the header, then the status, each at most ``width`` wide."""
    lines = [header(reading, execution, ansi)]
    if not reading.elements:
        return [*lines, "(no status yet)"]
    shown = (_with_end(reading, i, zone) for i in range(len(reading.elements)))
    return lines + [render.render_element(e, width, ansi) for e in shown]


def row(reading: Reading, width: int, ansi: bool, zone: tzinfo | None) -> str:
    """One execution in one line: counter, status, its first gauge with its label (or its
    first text), its first sparkline; at most ``width`` visible characters."""
    data, elements = reading.execution, reading.elements
    counter = data.get("counter")
    name = f"#{counter}" if isinstance(counter, int) else clean(str(data.get("step") or "?"), 12)
    status = clean(reading.status or "unknown", 9)
    first = next((i for i, e in enumerate(elements) if isinstance(e, render.Gauge)), None)
    gauge = _with_end(reading, first, zone) if first is not None else None
    spark = next((e for e in elements if isinstance(e, render.Sparkline) and e.values), None)
    text = next((e for e in elements if isinstance(e, (render.Text, render.Plain))), None)
    state = render.render_element(render.Text(status.ljust(9), STATUS_COLOR.get(status)), 20, ansi)
    head = f"{name:>6}  {state}"
    used = max(len(name), 6) + 2 + 9
    bar = ""
    if isinstance(gauge, render.Gauge):
        bar = f"  {render.gauge_bar(gauge.fraction, ROW_CELLS)} {gauge.fraction * 100:3.0f}%"
        used += len(bar)
    chart = f"  {render.blocks(spark.values, ROW_CELLS)}" if spark is not None else ""
    used += len(chart)
    if isinstance(gauge, render.Gauge):
        label = gauge.label
    else:
        label = text.text if text is not None else ""
    room = max(width - used - 2, 0)
    label = f"  {render.fit(label, room)}" if label and room > 1 else ""
    return head + bar + label + chart


def board(
    title: str, readings: Sequence[Reading], width: int, ansi: bool, zone: tzinfo | None
) -> list[str]:
    """The lines of one redraw of many executions: a title with the counts, then a row each."""
    ended = sum(1 for r in readings if r.ended)
    plural = "s" if len(readings) != 1 else ""
    head = f"{title} · {len(readings)} execution{plural}, {ended} ended"
    return [render.fit(head, width)] + [row(r, width, ansi, zone) for r in readings]

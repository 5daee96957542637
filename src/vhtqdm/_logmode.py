"""Log mode: on Valohai a bar's "terminal" is a log, so it prints plain lines, not ``\\r`` redraws.

tqdm redraws a bar with carriage returns, which a log (Valohai's, ``vh execution logs``) shows as
one endless line. When mirroring is active and a bar would draw on the process's own stdout or
stderr that is not a terminal, tqdm is handed a sink to draw into instead, and the bar's
``display()`` prints tqdm's own meter as a newline-terminated line, at most every
``log_interval`` seconds, plus a line when the bar closes or is reset for another round.

A bar given ``disable=None`` (tqdm: "off when not a terminal") gets the sink and no lines at all:
nothing is printed, as its author asked, and it holds no line of the terminal (the bars that
draw are drawn where tqdm draws them), yet it counts, so the status still shows it.
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any

from . import _tricks


class Sink:
    """A file that takes what tqdm draws and keeps nothing (tqdm writes to it under its lock)."""

    def __init__(self, encoding: str | None) -> None:
        self.encoding = encoding  # tqdm picks its bar characters from it (``ascii=None``)

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


class LogLine:
    """Where and how often one bar prints its lines (``file`` None: none, for ``disable=None``)."""

    __slots__ = ("due", "file", "interval", "printed_n")

    def __init__(self, file: Any, interval: float) -> None:
        self.file = file
        self.interval = interval
        self.due = time.monotonic() + interval  # the first line after one interval, not at 0 %
        self.printed_n: float | None = None  # the count shown by this round's latest line

    def display(self, bar: Any, msg: str | None) -> bool:
        """``tqdm.display`` in log mode: a line when one is due, and always when the bar closes."""
        if self.file is None:
            return True
        now = time.monotonic()
        if bar.disable:  # tqdm's close() sets disable before its last display
            if bar.n == self.printed_n and not msg:
                return True  # the latest line already shows where the bar ended
        elif now < self.due:
            return True
        self.due = now + self.interval
        self.print(bar, msg)
        return True

    def round_ended(self, bar: Any) -> None:
        """The bar is reset for another round (epoch): print where the last one ended."""
        if self.file is not None and bar.n and bar.n != self.printed_n:
            self.print(bar, None)
        self.printed_n = None
        self.due = time.monotonic() + self.interval

    def print(self, bar: Any, msg: str | None) -> None:
        text = msg if msg else bar.__str__()  # tqdm's meter: its errors are tqdm's, as without us
        try:
            self.file.write(text + "\n")
            self.file.flush()
        except (OSError, ValueError):  # closed or broken stream: stop printing, keep counting
            self.file = None
        else:
            self.printed_n = bar.n


def _replace(
    args: tuple[Any, ...], kwargs: dict[str, Any], name: str, value: Any
) -> tuple[Any, ...]:
    """``args`` and ``kwargs`` with tqdm's argument ``name`` set to ``value``."""
    index = _tricks.tqdm_argument_index(name)
    if index is not None and len(args) > index and name not in kwargs:
        return (*args[:index], value, *args[index + 1 :])
    kwargs[name] = value
    return args


def _is_std_stream(file: Any) -> bool:
    return any(file is s for s in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__))


def _isatty(file: Any) -> bool:
    try:
        return bool(file.isatty())
    except Exception:
        return False


def plan(
    args: tuple[Any, ...], kwargs: dict[str, Any], seconds: float
) -> tuple[tuple[Any, ...], LogLine | None]:
    """Decide how a mirrored text bar draws; may swap ``file``/``disable`` in ``args``/``kwargs``.

    ``seconds`` is the bar's log interval (0: tqdm's own drawing). Returns the arguments for
    tqdm and the bar's log line (None: tqdm draws as it always does).
    """
    file = _tricks.tqdm_argument(args, kwargs, "file", None)
    if file is None:
        file = sys.stderr  # tqdm's default
    disable = _tricks.tqdm_argument(args, kwargs, "disable", False)
    if disable is None:
        if not (hasattr(file, "isatty") and not file.isatty()):
            return args, None  # a terminal: tqdm draws
        # tqdm would disable the bar altogether; keep it counting, silently, for the status.
        args = _replace(args, kwargs, "disable", False)
        args = _replace(args, kwargs, "file", Sink(getattr(file, "encoding", None)))
        return args, LogLine(None, math.inf)
    if disable or not _is_std_stream(file) or _isatty(file) or seconds == 0:
        return args, None
    args = _replace(args, kwargs, "file", Sink(getattr(file, "encoding", None)))
    return args, LogLine(file, seconds)


def hide(bar: Any) -> None:
    """Take a bar that draws nothing (``disable=None`` kept counting) off tqdm's screen: a bar
    tqdm itself would have disabled must not hold a line, or the others draw a line lower."""
    _tricks.hide_bar(bar)

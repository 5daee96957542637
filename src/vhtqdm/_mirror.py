"""The process-wide record the bars write into and the sender composes from.

Bars record plain facts (started, postfix values, closed); nothing here does I/O on the caller's
thread. The mirror takes no lock: its writers use single dict/list operations, atomic under the
GIL, because ``close()`` also runs from ``__del__`` during garbage collection, at any point of any
thread (tqdm bars live in reference cycles), where waiting on a lock could deadlock.

``_process`` creates the process's one mirror when the first bar (or ``set_status``) finds a
valid Valohai config; this module is only imported then.
"""

from __future__ import annotations

import itertools
import math
import time
import weakref
from collections import deque
from collections.abc import Iterable
from dataclasses import replace
from numbers import Real
from typing import TYPE_CHECKING, Any

from . import _log
from ._compose import (
    COMPLETE,
    EARLY,
    FAILED,
    INTERRUPTED,
    RUNNING,
    BarView,
    MetricView,
    Note,
    compose,
    error_text,
)
from ._config import Charted, Endpoint, Settings, parse_charted, parse_interval, parse_window

if TYPE_CHECKING:
    from tqdm.std import tqdm as std_tqdm

    from ._sender import Post

MAX_METRICS = 64  # distinct postfix keys remembered; more are dropped, oldest kept


def metric_value(value: object) -> object:
    """A postfix value as the status shows it: a real number, or else a string.

    0-d tensors and numpy scalars become numbers through ``.item()`` without importing either.
    """
    if isinstance(value, (str, bool)):
        return str(value)
    if type(value) is int or type(value) is float:
        return value
    if isinstance(value, Real):
        return float(value)
    item = getattr(value, "item", None)
    if item is not None and (getattr(value, "ndim", None) == 0 or getattr(value, "size", 2) == 1):
        try:
            number = item()
        except Exception:
            number = None
        if isinstance(number, (int, float)) and not isinstance(number, bool):
            return number
    try:
        return str(value)[:200]
    except Exception:
        return "?"


def _rate(bar: Any, n: float, elapsed: float, running: bool) -> float | None:
    """tqdm's own speed: its smoothed rate while running, the overall average at the end."""
    if running:
        try:
            dt = bar._ema_dt()
            if dt:
                return float(bar._ema_dn() / dt)
        except Exception:
            pass
    initial = getattr(bar, "initial", 0) or 0
    return (n - initial) / elapsed if elapsed > 0 else None


def snapshot(bar: Any, outcome: str = RUNNING) -> BarView:
    """A bar's state as plain data; safe from any thread and on half-built bars."""
    n = getattr(bar, "n", 0)
    start = getattr(bar, "start_t", None)
    elapsed = max(time.time() - start, 0.0) if isinstance(start, (int, float)) else 0.0
    return BarView(
        desc=getattr(bar, "desc", "") or "",
        n=n,
        total=getattr(bar, "total", None),
        rate=_rate(bar, n, elapsed, outcome == RUNNING),
        elapsed=elapsed,
        unit=getattr(bar, "unit", "it"),
        unit_scale=getattr(bar, "unit_scale", False),
        unit_divisor=getattr(bar, "unit_divisor", 1000),
        outcome=outcome,
    )


def _position(bar: Any) -> int:
    """The bar's line on screen (tqdm stores fixed positions negated): outermost is 0."""
    return int(abs(getattr(bar, "pos", 0) or 0))


def outcome_of(bar: Any) -> str:
    """How a bar ended: failed / interrupted (an exception left its ``with``), complete, early."""
    error = getattr(bar, "_vh_error", None)
    if error is not None:
        return INTERRUPTED if isinstance(error, KeyboardInterrupt) else FAILED
    total, n = getattr(bar, "total", None), getattr(bar, "n", 0)
    try:
        return COMPLETE if total is None or n >= total else EARLY
    except TypeError:
        return COMPLETE


class Mirror:
    """Live bars, recently ended bars, postfix metrics and the milestone of one process."""

    def __init__(self, endpoint: Endpoint, settings: Settings, post: Post) -> None:
        from ._sender import Sender  # only on Valohai: keeps `import vhtqdm` light

        self.endpoint = endpoint
        self.settings = settings
        self.sender = Sender(post, self.compose, settings.status_interval, endpoint.host)
        self.dead = False  # set in a forked child: this copy must never post
        self._seq = itertools.count()
        self._live: dict[int, weakref.ref[Any]] = {}
        self._ended: list[tuple[int, int, BarView]] = []  # bars closed since the last start
        self._milestone: Note | None = None
        self._ending: tuple[str, str] | None = None
        # Written by the bars' hot path (no lock: single dict operations).
        self.latest: dict[str, object] = {}  # key -> latest value
        self.acc: dict[str, list[float]] = {}  # key -> [sum, count] this interval
        self._points: dict[str, deque[float]] = {}
        self._rolled = time.monotonic()
        # When each set of postfix keys may next be printed as metadata (see _metadata.emit).
        self.metadata_due: dict[frozenset[str], float] = {}

    def __repr__(self) -> str:
        return f"Mirror({self.endpoint!r}, live={len(self._live)})"

    # -- bars -----------------------------------------------------------------------------------

    def options(
        self, status_interval: object, sparklines: object, sparkline_window: object
    ) -> Charted:
        """Apply a bar's keyword arguments; returns what that bar charts."""
        charted = self.settings.sparklines
        try:
            if status_interval is not None:
                self.sender.interval = parse_interval(status_interval)
            if sparkline_window is not None:
                self.settings = replace(
                    self.settings, sparkline_window=parse_window(sparkline_window)
                )
            if sparklines is not None:
                charted = parse_charted(sparklines)
        except (TypeError, ValueError) as exc:
            _log.warn_once(f"option:{exc}", f"{exc}; using the default")
        return charted

    def add(self, bar: std_tqdm) -> None:
        if self.dead:
            return
        seq = next(self._seq)
        bar._vh_seq = seq
        self._ended = []  # only bars closed since the latest start make up the final status
        first = not self._live
        self._live[seq] = weakref.ref(bar)
        self.sender.submit(urgent=first)  # a run's first bar is shown at once

    def close(self, bar: std_tqdm, from_gc: bool = False) -> None:
        if self.dead:
            return
        seq = getattr(bar, "_vh_seq", None)
        if seq is None or self._live.pop(seq, None) is None:
            return
        self._settle(seq, bar, outcome_of(bar))
        if from_gc:
            self.sender.poke(urgent=not self._live)  # from a finalizer: wakes, starts nothing
        else:
            self.sender.submit(urgent=not self._live)

    def _settle(self, seq: int, bar: Any, outcome: str) -> None:
        """Keep a closed bar's final state for the status shown once no bar runs."""
        self._ended.append((_position(bar), seq, snapshot(bar, outcome)))

    def record(self, charted: Charted, pairs: Iterable[tuple[str, object]]) -> None:
        """Note postfix values given as pairs (the general path; the bar inlines the usual one)."""
        latest, acc = self.latest, self.acc
        for name, raw in pairs:
            value = metric_value(raw)
            key = str(name)
            latest[key] = value
            if isinstance(value, (int, float)) and (charted is True or key in charted):
                slot = acc.get(key)
                if slot is None:
                    acc[key] = [value, 1]
                else:
                    slot[0] += value
                    slot[1] += 1

    # -- milestone and the end ------------------------------------------------------------------

    def set_milestone(self, text: str | None, color: str | None) -> None:
        if self.dead:
            return
        self._milestone = Note(str(text), color) if text else None
        if not self._live:
            self._ended = []  # "alone when no bar runs"
        self.sender.submit(urgent=True)

    def end(self, error: BaseException | None) -> None:
        """The process is exiting: settle every bar and say how the job ended."""
        kind = None
        if isinstance(error, KeyboardInterrupt):
            kind = INTERRUPTED
        elif isinstance(error, Exception):
            kind = FAILED
        for seq, ref in list(self._live.items()):
            bar = ref()
            if bar is not None:
                outcome = outcome_of(bar)
                self._settle(seq, bar, kind if kind and outcome != COMPLETE else outcome)
        self._live.clear()
        if kind:
            self._ended = [
                (pos, seq, replace(view, outcome=kind) if view.outcome == EARLY else view)
                for pos, seq, view in self._ended
            ]
            self._ending = (kind, error_text(error))  # type: ignore[arg-type]
        self.sender.submit(urgent=True)

    # -- composing (on the sender thread) -------------------------------------------------------

    def has_live(self) -> bool:
        return bool(self._live)

    def compose(self) -> tuple[str, bool]:
        """The status to post now, and whether bars are still running."""
        live = []
        for seq, ref in self._live.copy().items():
            bar = ref()
            if bar is not None:
                live.append((_position(bar), seq, bar))
        live.sort(key=lambda item: item[:2])
        if live:
            bars = [snapshot(bar) for _, _, bar in live]
        else:
            bars = [view for _, _, view in sorted(self._ended, key=lambda item: item[:2])]
        metrics = self._metrics(final=not live)
        return compose(bars, metrics, self._milestone, self._ending), bool(live)

    def _metrics(self, final: bool) -> list[MetricView]:
        """Close the interval's accumulators into sparkline points, then list every metric."""
        now = time.monotonic()
        if final or now - self._rolled >= 0.9 * self.sender.interval:
            self._rolled = now
            acc, self.acc = self.acc, {}
            window = self.settings.sparkline_window
            # A copy: a set_postfix still holding the old dict may add a key while we read it.
            for key, (total, count) in list(acc.items()):
                points = self._points.get(key)
                if points is None or points.maxlen != window:
                    points = self._points[key] = deque(points or (), maxlen=window)
                try:
                    mean = total / count
                except (ZeroDivisionError, OverflowError):  # an int beyond float range
                    continue
                if math.isfinite(mean):
                    points.append(mean)
        latest = self.latest.copy()
        for key in list(latest)[MAX_METRICS:]:
            self.latest.pop(key, None)
            self._points.pop(key, None)
        charted = self._points.keys() | self.acc.keys()
        return [
            MetricView(key, value, tuple(self._points.get(key, ())), key in charted)
            for key, value in list(latest.items())[:MAX_METRICS]
        ]

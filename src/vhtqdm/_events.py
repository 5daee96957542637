"""What is worth telling people who are not watching: the events between two statuses.

Pure: no thread, no I/O, no clock of its own. The sender thread's ``Mirror.status()`` hands what
each status it composes was made of (a :class:`Seen`: the bars, the run's phases, the metrics,
the job, a stall, how the job ended) to a :class:`Watch`, which compares it with the previous one
and returns the :class:`Event` s; a :class:`Gate` decides, given the time, which of them go out.
The words are the status's own (``_compose``'s lines): an alert says what the status says.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from tqdm.std import tqdm as std_tqdm

from . import _views
from ._compose import bar_label, ending_line, metric_text, phase_line, stall_line, stopped_line
from ._job import progress
from ._limits import MAX_ALERTS, MAX_PHASES
from ._text import clean, format_value, series_label
from ._views import COMPLETE, RUNNING, BarView, Ending, Job, MetricView, Stall, finite

# The events, as VHTQDM_ALERT_ON names them (a stall's recovery comes with "stalled").
FAILED = "failed"
STOPPED = "stopped"  # SIGTERM (the platform's stop) or Ctrl-C
STALLED = "stalled"
RECOVERED = "recovered"
NAN = "nan"
FINISHED = "finished"  # a normal end only
PHASE = "phase"
MESSAGE = "message"  # vhtqdm.alert() and `vhtqdm alert`: always sent
ENDINGS = frozenset((FAILED, STOPPED, FINISHED))  # a run's last word: exactly one

# Levels, as vhtqdm.alert takes them.
INFO = "info"
WARN = "warn"
ERROR = "error"
LEVELS = (INFO, WARN, ERROR)

MAX_DETAILS = 12  # lines under an alert's title: the run's story, then its metrics
JOB = "job"  # the subject of a stall: the whole run, wherever it hangs


@dataclass(frozen=True)
class Seen:
    """What one status was made of, as plain data."""

    bars: Sequence[BarView]  # the live bars, outermost first; else the bars that ended last
    live: bool
    phases: Sequence[BarView]  # the outermost bars that ended, oldest first (the newest kept)
    metrics: Sequence[MetricView]
    job: Job | None = None
    stall: Stall | None = None
    ending: Ending | None = None  # how the job ended when not by itself
    over: bool = False  # the process is exiting
    elapsed: float = 0.0  # seconds since the process's first bar


@dataclass(frozen=True)
class Event:
    """Something to tell: its kind, level, subject (what the same event is about), one line."""

    kind: str
    level: str
    subject: str
    title: str
    details: tuple[str, ...] = ()
    summary: str | None = None  # the job gauge, in one line, when the event came


def text_of(line: str) -> str:
    """The text of a status line (a ``text`` element of ``_compose``)."""
    return str(json.loads(line).get("text", ""))


def duration(seconds: float) -> str:
    """tqdm's ``[H:]MM:SS``; ``?`` when not a sensible number of seconds."""
    return str(std_tqdm.format_interval(seconds)) if 0 <= seconds < 3.2e9 else "?"


def summary(seen: Seen, ahead: bool = True) -> str | None:
    """The job gauge in one line (``job 58% · ETA 2:14:05``), else the outermost bar's label;
    ``ahead=False``: where it got, without an ETA (``job 58%``, ``train 412/1875``)."""
    job = seen.job
    if job is not None and seen.live:
        fraction = min(max(finite(job.fraction) or 0.0, 0.0), 1.0)
        parts = [f"job {math.floor(fraction * 100):.0f}%"]
        if seen.stall is not None and ahead:
            parts.append("stalled")
        elif job.eta is not None and fraction < 1 and ahead:
            parts.append(f"ETA {duration(job.eta)}")
        return " \u00b7 ".join(parts)
    if not seen.bars:
        return None
    outer = seen.bars[0]
    if seen.stall is not None or not ahead:  # no rate, no ETA: stale, as in the status
        outer = replace(outer, rate=None)
    return bar_label(outer)


def _step(step: object) -> str:
    number = finite(step)
    if number is None:
        return ""
    return f" at step {int(number) if number.is_integer() else format(number, '.6g')}"


def _story(seen: Seen) -> tuple[str, ...]:
    """The run's story (its phases, newest kept) and the last value and extremes of each metric."""
    lines = [text_of(phase_line(phase)) for phase in seen.phases[-MAX_PHASES:]]
    for metric in seen.metrics:
        if metric.low is not None or metric.bad is not None:  # numbers came
            lines.append(metric_text(metric)[0])
    return tuple(lines[:MAX_DETAILS])


def ending(seen: Seen, where: str | None = None) -> Event:
    """The run's last word: failed, stopped, or finished, with its story and metrics; ``where``
    the job got to (a failed or stopped run's)."""
    kind, error = (seen.ending.kind, seen.ending.error) if seen.ending else (None, "")
    story = _story(seen)
    if kind is None:
        return Event(FINISHED, INFO, JOB, f"Finished in {duration(seen.elapsed)}", story)
    if kind == _views.STOPPED:
        return Event(STOPPED, WARN, JOB, text_of(stopped_line(seen.bars)), story, where)
    line = text_of(ending_line(kind, error, seen.bars))
    if kind == _views.FAILED:
        return Event(FAILED, ERROR, JOB, line, story, where)
    return Event(STOPPED, WARN, JOB, line, story, where)  # Ctrl-C: "Interrupted at …"


def _reached(seen: Seen) -> str | None:
    """How far the whole job got, from the bars as they ended (``job 46%``), when nested."""
    job = progress(seen.bars, nested=len(seen.bars) > 1)
    return summary(replace(seen, job=job, live=True), ahead=False) if job is not None else None


class Watch:
    """Compares each status with the previous one; returns what changed that is worth telling.

    Mid-run: a metric's first NaN or infinity (``nan``), a stall and its end, an outermost bar
    that ended (``phase``). At the exit: the ending alone (it tells the story and the metrics).
    """

    def __init__(self) -> None:
        self._stall: Stall | None = None
        self._nan: set[str] = set()  # metrics whose first NaN was told
        self._phases: list[BarView] = []  # phases already seen (by identity)
        self._where: str | None = None  # where the job was at the latest status with live bars
        self.ended = False

    def observe(self, seen: Seen) -> list[Event]:
        """The events since the previous status (none after the ending)."""
        if self.ended:
            return []
        if seen.over:
            self.ended = True
            return [ending(seen, _reached(seen) or self._where)]
        if seen.live:
            self._where = summary(seen, ahead=False)
        line = summary(seen)
        events = [*self._nans(seen), *self._stalls(seen), *self._new_phases(seen)]
        return [replace(event, summary=line) for event in events]

    def _nans(self, seen: Seen) -> Iterator[Event]:
        for metric in seen.metrics:
            bad = metric.bad
            if not isinstance(bad, float) or finite(bad) is not None or metric.name in self._nan:
                continue
            self._nan.add(metric.name)
            name = clean(metric.name, 40) or "?"
            title = f"{name} turned {format_value(bad)}{_step(metric.bad_step)}"
            yield Event(NAN, ERROR, metric.name, title, (metric_text(metric)[0],))

    def _stalls(self, seen: Seen) -> Iterator[Event]:
        before, now = self._stall, seen.stall
        self._stall = now
        if before is None and now is not None:
            yield Event(STALLED, WARN, JOB, text_of(stall_line(now, seen.bars)))
        elif before is not None and now is None:
            title = f"no longer stalled, after {duration(before.seconds)} without progress"
            yield Event(RECOVERED, INFO, JOB, title)

    def _new_phases(self, seen: Seen) -> Iterator[Event]:
        old, self._phases = self._phases, list(seen.phases)
        for phase in seen.phases:
            if not any(phase is known for known in old):
                level = INFO if phase.outcome in (COMPLETE, RUNNING) else WARN
                subject = series_label(phase.desc) or "?"
                yield Event(PHASE, level, subject, text_of(phase_line(phase)))


class Gate:
    """Which events go out, given the time.

    - The same event for the same subject (a metric's NaN, the job's stall, a phase's
      description) at most once per ``every`` seconds: a stall that ends and comes back is told
      again only then; its end is told only when the stall was.
    - At most ``cap`` alerts a run; the others are counted (``capped``), for the last word.
    - Messages (``vhtqdm.alert``) are never held back as repeats; the run's last word (failed,
      stopped, finished) always goes.
    """

    def __init__(self, every: float, cap: int = MAX_ALERTS) -> None:
        self.every = every
        self.cap = cap
        self.sent = 0
        self.capped = 0
        self._last: dict[tuple[str, str], float] = {}  # (kind, subject) -> when last sent
        self._stall_told = False

    def admit(self, event: Event, now: float) -> bool:
        """Whether ``event`` goes out at ``now`` (and it is counted as sent if so)."""
        kind, key = event.kind, (event.kind, event.subject)
        if kind in ENDINGS:
            return True
        if kind == RECOVERED:
            if not self._stall_told:
                return False
            self._stall_told = False
        elif kind != MESSAGE:
            last = self._last.get(key)
            if last is not None and now - last < self.every:
                return False
        if self.sent >= self.cap:
            self.capped += 1
            return False
        self.sent += 1
        if kind not in (RECOVERED, MESSAGE):
            self._last[key] = now
        self._stall_told = self._stall_told or kind == STALLED
        return True

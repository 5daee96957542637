"""Metadata: the numeric ``set_postfix`` values also printed as Valohai metadata (opt-in).

Valohai turns every line of stdout that is a JSON object into a metadata point, which its charts
plot. With ``metadata=True`` (or ``VHTQDM_METADATA=1``) a mirrored bar's values are printed as
such lines, from the thread that called ``set_postfix`` (so no line of that thread is torn), with
the run's step, the epoch when an outer bar runs, and the whole job's progress (``job_progress``,
0-1) and ETA (``job_eta``, seconds) when bars are nested.

What is printed when:

- at most one line per status interval for the whole process; a value that comes faster is
  thinned: each key keeps its latest value (and its step) until the next line;
- a key's first value of a round of the outer bar (an epoch) is printed at once, so a value
  reported once per epoch or less is never skipped;
- a bar's waiting values are printed when it closes, and every waiting value at exit.

The step never goes backwards: a bar re-created every epoch continues from where the previous
bar of that description ended (``epoch * batches + batch``). Values that are not plain numbers
(0-d tensors) are never converted here, on the loop's thread: their line waits until the sender
has converted them for the status (at exit they are converted then). Each line is written
through tqdm's ``external_write_mode``, so a bar drawn on a terminal is cleared around it; there
(only) the line starts with a newline, as valohai-utils' do; a log gets no empty lines.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Iterable
from numbers import Number
from typing import Any, Callable, NamedTuple

from . import _tricks
from ._limits import MAX_METADATA_KEYS, MAX_ROUNDS
from ._metrics import Metrics, metric_value, one_element
from ._record import Record
from ._text import evaluation, series_label
from ._views import Job


class _Waiting(NamedTuple):
    """A value not printed yet: raw (a tensor waits for the sender) or a plain number."""

    value: object
    step: object
    epoch: object
    label: str
    key: str
    plain: bool


class Metadata:
    """The process's metadata lines (see the module): what waits, and when the next is due."""

    def __init__(
        self,
        record: Record,
        metrics: Metrics,
        interval: Callable[[], float],
        job: Callable[[], Job | None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._record = record
        self._metrics = metrics
        self._interval = interval
        self._job = job
        self._clock = clock
        self._due = -math.inf
        self._waiting: dict[str, _Waiting] = {}  # key -> its latest value not printed yet
        self._rounds: dict[str, object] = {}  # key -> the epoch of its latest printed value
        self._steps: dict[str, float] = {}  # series label -> the latest step printed
        # key -> its latest plain value and the evaluations ended by then (evaluation keys)
        self._reported: dict[str, object] = {}

    def report(self, bar: Any, pairs: Iterable[tuple[Any, object]]) -> None:
        """Values a bar's ``set_postfix`` was given (on the loop's thread)."""
        book = getattr(bar, "_vh_book", None)
        if book is not None and bar._vh_desc is bar.desc:
            label = book.label  # looked up by the same set_postfix
        else:
            label = series_label(getattr(bar, "desc", ""))
        step = self._step(bar, label)
        epoch = self._record.epoch_of(bar)
        new_round = False
        for key, raw in pairs:
            name = key if type(key) is str else str(key)
            kind = type(raw)
            if kind is float or kind is int:
                if not -1.7976931348623157e308 <= raw <= 1.7976931348623157e308:  # type: ignore[operator]
                    continue  # NaN and infinities make no point
                if evaluation(label, name):
                    seen = (raw, self._record.evaluations)
                    if self._reported.get(name) == seen:
                        continue  # an evaluation's value reported again later: one point
                    _bounded(self._reported, name, seen)
                plain = True
            elif kind is bool or kind is str or not _numeric(raw):
                continue
            else:
                plain = False
            waiting = self._waiting
            if name not in waiting and len(waiting) >= MAX_METADATA_KEYS:
                continue
            waiting[name] = _Waiting(raw, step, epoch, label, name, plain)
            if epoch is not None and self._rounds.get(name, epoch) != epoch:
                new_round = True
        now = self._clock()
        if new_round or now >= self._due:
            self._due = now + self._interval()
            self._print(bar, lambda w: True)

    def bar_closed(self, bar: Any) -> None:
        """Print what the bar's description left waiting (on the closing thread)."""
        label = series_label(getattr(bar, "desc", ""))
        self._print(bar, lambda w: w.label == label)

    def at_exit(self) -> None:
        """Print every waiting value, converting tensors now (the loop is over)."""
        self._print(None, lambda w: True, convert=True)

    def _step(self, bar: Any, label: str) -> object:
        """The bar's step in the whole run, never below the latest one printed for its
        description (``bar.n = 0`` goes back; the step does not)."""
        step = self._record.run_step(bar, label)
        if isinstance(step, (int, float)):
            latest = self._steps.get(label)
            if latest is not None and step < latest:
                return latest
            if label not in self._steps and len(self._steps) >= MAX_ROUNDS:
                self._steps.pop(next(iter(self._steps)))
            self._steps[label] = step
        return step

    def _print(self, bar: Any, which: Callable[[_Waiting], bool], convert: bool = False) -> None:
        """Print the waiting values ``which`` selects that are ready: a line per bar description
        (descriptions count their own steps), at its latest step and epoch."""
        lines: dict[str, tuple[object, object, dict[str, object]]] = {}
        for waiting in list(self._waiting.values()):
            if not which(waiting):
                continue
            value = waiting.value
            if not waiting.plain:
                shown = self._metrics.shown(value, waiting.label, waiting.key)
                if shown is None and convert:
                    shown = metric_value(value)
                if not isinstance(shown, (int, float)) or not math.isfinite(shown):
                    if convert:
                        self._waiting.pop(waiting.key, None)
                    continue  # not converted yet: it waits for the next line
                value = shown
            self._waiting.pop(waiting.key, None)
            _bounded(self._rounds, waiting.key, waiting.epoch)
            step, epoch, values = lines.get(waiting.label, (waiting.step, waiting.epoch, {}))
            values[waiting.key] = value
            if _later(waiting.step, step):  # the description's latest step and epoch win
                step, epoch = waiting.step, waiting.epoch
            lines[waiting.label] = (step, epoch, values)
        for step, epoch, values in lines.values():
            data: dict[str, object] = {"step": step}
            if epoch is not None:
                data["epoch"] = epoch
            data.update(values)
            job = self._job()
            if job is not None:
                data["job_progress"] = round(job.fraction, 4)
                if job.eta is not None:
                    data["job_eta"] = round(job.eta)
            _write(bar, data)


def _bounded(table: dict[str, object], key: str, value: object) -> None:
    """``table[key] = value``, the oldest entry dropped beyond ``MAX_METADATA_KEYS``."""
    if key not in table and len(table) >= MAX_METADATA_KEYS:
        table.pop(next(iter(table)))
    table[key] = value


def _later(step: object, than: object) -> bool:
    try:
        return bool(step > than)  # type: ignore[operator]
    except TypeError:
        return False


def _numeric(value: object) -> bool:
    """A value the status would chart once converted: a number or a 0-d array."""
    return isinstance(value, Number) or one_element(value)


def _write(bar: Any, data: dict[str, object]) -> None:
    """One metadata line on stdout, whole, clear of the bars drawn there."""
    out = sys.stdout
    if out is None:
        return
    cls = type(bar) if bar is not None else None
    try:
        on_terminal = out.isatty() and (
            cls is None or _tricks.bars_drawing_on(cls, (sys.stdout, sys.stderr))
        )
    except Exception:
        on_terminal = True  # unsure: a blank line is better than a torn one
    line = ("\n" if on_terminal else "") + json.dumps(data, separators=(",", ":")) + "\n"
    if cls is not None:
        with cls.external_write_mode(file=out):
            out.write(line)  # one write: nothing of this thread can land inside the line
            out.flush()
    else:
        out.write(line)
        out.flush()

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
import re
import time
import weakref
from collections import deque
from collections.abc import Iterable
from dataclasses import replace
from numbers import Number, Real
from typing import TYPE_CHECKING, Any, Callable

from . import _job, _log, _stall
from ._compose import (
    COMPLETE,
    DESC_CHARS,
    EARLY,
    FAILED,
    INTERRUPTED,
    MAX_PHASES,
    RUNNING,
    STOPPED,
    BarView,
    MetricView,
    Note,
    compose,
    error_text,
)
from ._config import (
    Charted,
    Endpoint,
    Settings,
    parse_charted,
    parse_interval,
    parse_stall_after,
    parse_window,
)
from ._series import Series
from ._text import clean

if TYPE_CHECKING:
    from tqdm.std import tqdm as std_tqdm

    from ._sender import Post

MAX_METRICS = 64  # series (a postfix key of a bar description) recorded; later ones are not
MAX_LABELS = 64  # bar descriptions whose postfix values are recorded
MAX_SPECS = 8  # distinct `sparklines=` choices remembered per description
PENDING = 16  # values of other types (tensors, numpy scalars…) kept per series between statuses

# A description's words that are numbers ("Epoch 3/10", "fold 2"): not part of the series' name.
_NUMERIC = re.compile(r"[\W_]*\d[\d\W_]*")


def loop_count(bar: Any) -> object:
    """The bar's count now, for the step a value came at: inside ``for x in bar`` tqdm counts in
    a local ``n`` of its iterator and writes ``bar.n`` only when it redraws (every
    ``mininterval``), so the local is read from the iterator's frame (on the loop's own thread
    only; no library exposes it). A flavour may wrap tqdm's iterator in its own (notebook:
    ``for obj in it: yield obj``): that one is followed."""
    ref = getattr(bar, "_vh_iter", None)
    iterator = ref() if ref is not None else None
    for _ in range(3):
        frame = getattr(iterator, "gi_frame", None)
        if frame is None:  # not started, finished, or no generator
            break
        local = frame.f_locals
        n = local.get("n")
        if type(n) is int:
            return n
        iterator = local.get("it")
    return getattr(bar, "n", None)


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


def series_label(desc: object) -> str:
    """The description that tells a bar's series apart: ``"eval: "`` is ``eval``, ``Epoch 3``
    is ``Epoch``.

    Numbers are left out so that a bar re-described or re-created each epoch keeps one series.
    """
    text = clean(desc, DESC_CHARS + 2).rstrip(":").rstrip()
    return " ".join(word for word in text.split() if not _NUMERIC.fullmatch(word))


class Book(dict[str, Series]):
    """The series of one bar description, by key: what a bar's ``set_postfix`` writes into."""

    __slots__ = ("full", "label", "specs")

    def __init__(self, label: str, full: bool = False) -> None:
        super().__init__()
        self.label = label
        self.full = full  # beyond MAX_LABELS: records nothing
        self.specs: list[Charted] = []  # the `sparklines=` of the bars writing here


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
        note=str(getattr(bar, "_vh_note", "")) if outcome != RUNNING else "",
    )


def _position(bar: Any) -> int:
    """The bar's line on screen (tqdm stores fixed positions negated): outermost is 0."""
    return int(abs(getattr(bar, "pos", 0) or 0))


def ended_by(error: BaseException) -> tuple[str | None, str]:
    """What an exception leaving a bar's ``with`` says: its outcome (None: by its count), a note.

    A failure or an interrupt names itself; ``sys.exit`` (early stopping) and a generator closed
    early (``GeneratorExit``) are no failure: the bar closed where it was, noting a non-zero exit.
    """
    if isinstance(error, SystemExit):
        code = error.code
        status = 0 if code is None else int(code) if isinstance(code, int) else 1
        return (EARLY, f"exit {status}") if status else (None, "")
    if isinstance(error, GeneratorExit):
        return None, ""
    return (INTERRUPTED if isinstance(error, KeyboardInterrupt) else FAILED), ""


def outcome_of(bar: Any) -> str:
    """How a bar ended: as its ``with`` said (failed, interrupted, exit), else complete or early."""
    outcome = getattr(bar, "_vh_outcome", None)
    if outcome is not None:
        return str(outcome)
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
        self.sender = Sender(
            self._stop_on_refusal(post), self.compose, settings.status_interval, endpoint.host
        )
        self.dead = False  # set in a forked child: this copy must never post
        self.stopped = False  # the token was refused: nothing is recorded or posted any more
        self._seq = itertools.count()
        self._live: dict[int, weakref.ref[Any]] = {}
        self._ended: list[tuple[int, int, BarView]] = []  # bars closed since the last start
        # Outermost bars that ended (train, then eval, then test): the run's story, newest kept.
        self._phases: deque[tuple[int, BarView]] = deque(maxlen=MAX_PHASES)
        self._nested: set[int] = set()  # live outermost bars that had a bar inside them
        self._rounds: set[int] = set()  # live outermost bars reset for another round
        self._progress = _stall.Progress(time.monotonic())  # seen by the sender thread only
        self.job: _job.Job | None = None  # the whole job's progress at the latest compose
        self._job_floor: tuple[int, float, float] = (-1, 0.0, 0.0)  # outer seq, its n, fraction
        self._milestone: Note | None = None
        self._ending: tuple[str, str] | None = None
        self._over = False  # end() ran: the process is exiting
        # Written by the bars' set_postfix (no lock: single dict, list and attribute operations).
        self._books: dict[str, Book] = {}  # bar description -> its series by key
        self._series: dict[tuple[str, str], Series] = {}  # (description, key), first reported first
        self._pending: dict[Series, deque[tuple[object, object]]] = {}  # (raw value, step)
        self._shown: dict[Series, tuple[object, object]] = {}  # (raw, converted) latest values
        # When each set of postfix keys may next be printed as metadata (see _metadata.emit).
        self.metadata_due: dict[frozenset[str], float] = {}
        self.metadata_steps: dict[str, float] = {}  # series label -> the latest step printed
        self._counted: dict[str, float] = {}  # series label -> its ended rounds' steps (run_step)
        # Set by _relay in the process that posts for the execution: other processes' bars, the
        # ranks/member line, and whether any of them still runs.
        self.relayed: Callable[[], tuple[list[BarView], str | None, bool]] | None = None

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

    def stall_option(self, stall_after: object) -> None:
        """Apply a bar's ``stall_after=`` keyword (process-wide, like ``status_interval``)."""
        try:
            self.settings = replace(self.settings, stall_after=parse_stall_after(stall_after))
        except (TypeError, ValueError) as exc:
            _log.warn_once(f"option:{exc}", f"{exc}; using the default")

    def add(self, bar: std_tqdm) -> None:
        if self.dead or self.stopped:
            bar._vh = None
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
        self.round_ended(bar)
        if from_gc:
            self.sender.poke(urgent=not self._live)  # from a finalizer: wakes, starts nothing
        else:
            self.sender.submit(urgent=not self._live)

    def _settle(self, seq: int, bar: Any, outcome: str) -> None:
        """Keep a closed bar's final state for the status shown once no bar runs."""
        where, view = _position(bar), snapshot(bar, outcome)
        self._ended.append((where, seq, view))
        if where == 0:
            self._phases.append((seq, view))

    def round_ended(self, bar: Any) -> None:
        """A bar closed, or is reset for another round: later bars of its description count on
        from its total (its count when larger, or when it had none; nothing if it counted none)."""
        n, total = getattr(bar, "n", 0), getattr(bar, "total", None)
        if isinstance(n, (int, float)) and n > 0:
            if isinstance(total, (int, float)) and total < float("inf"):
                n = max(n, total)
            label = series_label(getattr(bar, "desc", ""))
            self._counted[label] = self._counted.get(label, 0) + n

    def run_step(self, bar: Any, label: str) -> object:
        """The bar's step in the whole run: its count plus the ended rounds of bars of its
        ``series_label`` (``epoch * batches + batch`` for a bar re-created or reset every epoch,
        also when its description says ``Epoch 3``)."""
        n = loop_count(bar)
        done = self._counted.get(label)
        return n + done if done and isinstance(n, (int, float)) else n

    def book(self, bar: Any) -> Book:
        """The series of the bar's description; the bar caches it until its ``desc`` changes."""
        desc = bar.desc
        label = series_label(desc)
        book = self._books.get(label)
        if book is None:
            full = len(self._books) >= MAX_LABELS
            book = Book(label, full) if full else self._books.setdefault(label, Book(label))
        spec: Charted = bar._vh_charted
        if spec not in book.specs and len(book.specs) < MAX_SPECS:
            book.specs.append(spec)
        bar._vh_book, bar._vh_desc = book, desc
        return book

    def record(self, bar: Any, pairs: Iterable[tuple[object, object]]) -> None:
        """Note postfix values given as pairs (the general path; the bar inlines the usual one)."""
        book = bar._vh_book if bar._vh_desc is bar.desc else self.book(bar)
        for name, value in pairs:
            self.note(bar, book, name if type(name) is str else str(name), value)

    def note(self, bar: Any, book: Book, key: str, value: object) -> None:
        """One postfix value the bar's inlined path leaves here: a new key, a non-finite number,
        any other type. Nothing is converted here (no ``.item()``, no ``str()``): the sender does
        it, so the loop never waits on a device or pays for a value's text twice."""
        series = book.get(key)
        if series is None:
            if self.stopped or book.full:
                return
            if len(self._series) >= MAX_METRICS:  # the cap holds where values are written
                _log.warn_once(
                    "metrics", f"more than {MAX_METRICS} postfix keys: later ones are not shown"
                )
                return
            series = book.setdefault(key, Series(self.settings.sparkline_window))
            self._series.setdefault((book.label, key), series)
        kind = type(value)
        if kind is float or kind is int:
            series.add(value, self.run_step(bar, book.label))  # type: ignore[arg-type]
            return
        series.last = value
        if (
            kind is not str
            and kind is not bool
            and (isinstance(value, Number) or getattr(value, "ndim", None) == 0)
        ):
            pending = self._pending.get(series)
            if pending is None:
                pending = self._pending.setdefault(series, deque(maxlen=PENDING))
            pending.append((value, self.run_step(bar, book.label)))

    # -- stopping -------------------------------------------------------------------------------

    def _stop_on_refusal(self, post: Post) -> Post:
        """``post``, which also stops the mirror when the endpoint refuses the token (401/403)."""

        def send(text: str, timeout: float) -> Any:
            result = post(text, timeout)
            from ._transport import STOP  # loaded with the transport, on the sender thread

            if result.kind == STOP:
                self.stop()
            return result

        return send

    def stop(self) -> None:
        """Nothing will be posted again: the bars drop the mirror and what was recorded goes."""
        self.stopped = True
        for ref in list(self._live.values()):
            bar = ref()
            if bar is not None:
                bar._vh = None
        self._live.clear()
        self._books.clear()
        self._series.clear()
        self._pending.clear()
        self._shown.clear()

    def outer_count(self, bar: Any) -> float | None:
        """The count of the outermost live bar drawn above ``bar`` (its epoch), or None."""
        where = _position(bar)
        above = [
            (_position(other), other)
            for other in (ref() for ref in list(self._live.values()))
            if other is not None and other is not bar and _position(other) < where
        ]
        return loop_count(min(above, key=lambda item: item[0])[1]) if above else None  # type: ignore[return-value]

    # -- milestone and the end ------------------------------------------------------------------

    def set_milestone(self, text: str | None, color: str | None) -> None:
        if self.dead:
            return
        self._milestone = Note(str(text), color) if text else None
        if not self._live:
            self._ended = []  # "alone when no bar runs"
            self._phases.clear()
        self.sender.submit(urgent=True)

    def end(self, error: BaseException | None, stopped: bool = False) -> None:
        """The process is exiting: settle every bar and say how the job ended.

        ``stopped``: SIGTERM ends it (its unfinished bars are interrupted).
        """
        self._over = True
        kind = None
        if stopped or isinstance(error, KeyboardInterrupt):
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
            self._ending = (STOPPED, "") if stopped else (kind, error_text(error))  # type: ignore[arg-type]
        self.sender.submit(urgent=True)

    # -- composing (on the sender thread) -------------------------------------------------------

    def _live_bars(self) -> list[tuple[int, int, Any]]:
        """The live bars as (screen line, sequence, bar), outermost first."""
        live = []
        for seq, ref in self._live.copy().items():
            bar = ref()
            if bar is not None:
                live.append((_position(bar), seq, bar))
        live.sort(key=lambda item: item[:2])
        return live

    def views(self) -> tuple[list[BarView], bool]:
        """This process's bars as the status shows them (the live ones, else the ended ones)."""
        live = self._live_bars()
        if live:
            return [snapshot(bar) for _, _, bar in live], True
        return [view for _, _, view in sorted(self._ended, key=lambda item: item[:2])], False

    def compose(self) -> tuple[str, bool]:
        """The status to post now, and whether bars are still running."""
        live = self._live_bars()
        now = time.monotonic()
        job = stall = None
        if live:
            bars = [snapshot(bar) for _, _, bar in live]
            self._progress.observe({seq: view.n for (_, seq, _), view in zip(live, bars)}, now)
            job = self._job_of([seq for _, seq, _ in live], bars)
            step = _stall.usual_step(bars[-1].rate)
            stall = _stall.stalled(self._progress.advanced, now, self.settings.stall_after, step)
            phases = [view for _, view in self._phases]
        else:
            self._progress.observe({}, now)
            ended = sorted(self._ended, key=lambda item: item[:2])
            bars = [view for _, _, view in ended]
            shown = {seq for _, seq, _ in ended}  # drawn as gauges: not again as phase lines
            phases = [view for seq, view in self._phases if seq not in shown]
        self.job = job
        header, running = None, bool(live)
        if self.relayed is not None:  # other processes of the execution relay their bars here
            more, header, busy = self.relayed()
            if self._over:  # at exit a relayed bar still running is a worker's last word, stale
                more, busy = [bar for bar in more if bar.outcome != RUNNING], False
            bars, running = [*bars, *more], running or busy
        metrics = self._metrics()
        status = compose(
            bars, metrics, self._milestone, self._ending, job=job, stall=stall, phases=phases
        )
        return ("\n".join((header, status)) if header else status), running

    def _job_of(self, seqs: list[int], bars: list[BarView]) -> _job.Job | None:
        """The whole job's progress from the live bars (outermost first), on the sender thread.

        The outermost bar is a job once a bar ran inside it, unless it is ``reset()`` for rounds
        (Lightning's epoch bar); the fraction never falls below the latest one shown for it.
        """
        outer = seqs[0]
        self._nested &= set(seqs)
        self._rounds &= set(seqs)
        if len(seqs) > 1:
            self._nested.add(outer)
        seq, count, floor = self._job_floor
        if seq != outer or not bars[0].n >= count:
            floor = 0.0
            if seq == outer:  # its count went back: reset() for another round
                self._rounds.add(outer)
        nested = outer in self._nested and outer not in self._rounds
        job = _job.progress(bars, nested=nested, floor=floor)
        if job is not None:
            self._job_floor = (outer, bars[0].n, job.fraction)
        return job

    def _metrics(self) -> list[MetricView]:
        """Every series as the status shows it, converting the values the bars left raw."""
        items = list(self._series.items())
        labels: dict[str, int] = {}  # key -> descriptions reporting it
        for (_, key), _ in items:
            labels[key] = labels.get(key, 0) + 1
        views = []
        for (label, key), series in items:
            self._fold_pending(series)
            name = f"{label} {key}" if label and labels[key] > 1 else key
            book = self._books.get(label)
            specs = book.specs if book is not None else []
            numeric = series.low <= series.high or series.bad is not None  # a number came
            charted = numeric and any(
                not isinstance(spec, frozenset) or {key, name, f"{label} {key}"} & spec
                for spec in specs
            )
            views.append(
                MetricView(
                    name,
                    self._shown_value(series),
                    tuple(series.points()),
                    charted,
                    low=series.low,
                    high=series.high,
                    bad=series.bad,
                    bad_step=series.bad_step,
                )
            )
        return views

    def _fold_pending(self, series: Series) -> None:
        """Convert the raw values a bar queued for ``series`` and add the numbers to it."""
        pending = self._pending.get(series)
        while pending:
            try:
                raw, step = pending.popleft()  # atomic: a bar may append meanwhile
            except IndexError:
                break
            value = metric_value(raw)
            self._shown[series] = (raw, value)
            if isinstance(value, (int, float)):
                series.add(value, step, latest=False)

    def _shown_value(self, series: Series) -> object:
        """The series' latest value as a number or text, converting it once."""
        raw = series.last
        if type(raw) is float or type(raw) is int or type(raw) is str:
            return raw
        shown = self._shown.get(series)
        if shown is not None and shown[0] is raw:
            return shown[1]
        value = metric_value(raw)
        self._shown[series] = (raw, value)
        return value

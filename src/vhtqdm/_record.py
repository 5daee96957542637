"""The record of a process's bars: which run, which ended, the run's phases, how it all ended.

Bars write plain facts here (started, closed, reset for another round); the sender thread reads
them as :class:`~vhtqdm._views.BarView` snapshots. No lock: the writers use single dict, list and
attribute operations, atomic under the GIL, because ``close()`` also runs from ``__del__`` during
garbage collection, at any point of any thread (tqdm bars live in reference cycles), where
waiting on a lock could deadlock.
"""

from __future__ import annotations

import itertools
import threading
import time
import weakref
from collections import OrderedDict, deque
from dataclasses import replace
from typing import Any, NamedTuple

from . import _tricks
from ._limits import MAX_ENDED, MAX_PHASES, MAX_ROUNDS
from ._text import clean, desc_pattern, desc_text, evaluation, series_label
from ._views import (
    COMPLETE,
    EARLY,
    FAILED,
    INTERRUPTED,
    RUNNING,
    STOPPED,
    BarView,
    Ending,
    Milestone,
)


def screen_row(bar: Any) -> int:
    """The bar's line on screen (tqdm stores fixed positions negated): outermost is 0."""
    try:
        return int(abs(getattr(bar, "pos", 0) or 0))
    except Exception:
        return 0


def loop_count(bar: Any) -> object:
    """The bar's count now: the local count of the loop over it when one runs (``_tricks``)."""
    ref = getattr(bar, "_vh_iter", None)
    return _tricks.loop_count(bar, ref() if ref is not None else None)


def _rate(bar: Any, n: float, elapsed: float, running: bool) -> float | None:
    """tqdm's own speed: its smoothed rate while running, the overall average at the end."""
    if running:
        rate = _tricks.tqdm_rate(bar)
        if rate is not None:
            return rate
    initial = getattr(bar, "initial", 0) or 0
    try:
        return (n - initial) / elapsed if elapsed > 0 else None
    except Exception:
        return None


def view(bar: Any, outcome: str = RUNNING) -> BarView:
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
        detail=str(getattr(bar, "_vh_detail", "")) if outcome != RUNNING else "",
    )


def ended_by(error: BaseException) -> tuple[str | None, str]:
    """What an exception leaving a bar's ``with`` says: its outcome (None: by its count) and a
    detail. A failure or an interrupt names itself; ``sys.exit`` (early stopping) and a
    generator closed early (``GeneratorExit``) are no failure: the bar closed where it was,
    noting a non-zero exit code."""
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


def error_text(error: BaseException) -> str:
    """``RuntimeError: CUDA out of memory`` cut to about 100 characters, on one line."""
    name = type(error).__name__
    try:
        message = str(error)
    except Exception:
        message = ""
    return clean(f"{name}: {message}" if message else name, 100)


class Live(NamedTuple):
    """A running bar as the status reads it: its screen row, its key (start order), the bar."""

    row: int
    key: int
    bar: Any


class Story(NamedTuple):
    """What the status tells of the bars: the live ones (the job's chain first: the outermost
    bar and the bars nested in it), else the last ended; the run's earlier phases, the
    milestone, how the job ended."""

    live: list[Live]
    chain: int  # the first ``chain`` live bars are nested one in the other (0: there is no job)
    run: bool  # the chain's outer bar was declared the whole run (an adapter knows its total)
    bars: list[BarView]  # the live bars' views, in ``live``'s order; else the bars that ended last
    phases: list[BarView]
    milestone: Milestone | None
    ending: Ending | None
    over: bool  # the process is exiting


class _Family(NamedTuple):
    """Where a bar was started: its thread and the bar it runs inside (None: none)."""

    thread: int
    parent: int | None


class Record:
    """Live bars, recently ended bars, phases, the milestone and the ending of one process.

    Nesting: a bar started while another bar of the same thread runs is nested in it (an epoch's
    batches), unless both are of one kind (``shard 3`` beside ``shard 2``: siblings). Bars of
    other threads are never nested: they run side by side.
    """

    def __init__(self) -> None:
        self._keys = itertools.count()
        self._live: dict[int, weakref.ref[Any]] = {}
        self._family: dict[int, _Family] = {}  # live bars' families
        self._had_child: set[int] = set()  # live bars a bar was nested in (epoch bars)
        self._ended: list[tuple[int, int, BarView]] = []  # closed since the last start (row, key)
        # Outermost bars that ended (train, then eval, then test): the run's story, newest kept;
        # bars of one kind in a row are one entry (file_*.parquet, 3000 bars).
        self._phases: deque[tuple[int, str, BarView]] = deque(maxlen=MAX_PHASES)
        self._rounds: OrderedDict[str, float] = OrderedDict()  # series label -> ended rounds' steps
        self.milestone: Milestone | None = None
        self.ending: Ending | None = None
        self.over = False  # end() ran: the process is exiting
        self.evaluations = 0  # bars of an evaluation (validation, eval, test) that ended

    # -- what bars do ---------------------------------------------------------------------------

    def add(self, bar: Any) -> bool:
        """A bar started; True when it is the first of a run (no other bar runs)."""
        key = next(self._keys)
        bar._vh_key = key
        self._ended = []  # only bars closed since the latest start make up the final status
        first = not self._live
        thread = threading.get_ident()
        pattern = desc_pattern(getattr(bar, "desc", ""))
        parent = None
        mine = [k for k in self._live if self._family.get(k, _NOBODY).thread == thread]
        if mine:
            inner = self._family[mine[-1]]
            ref = self._live.get(mine[-1])
            other = ref() if ref is not None else None
            kind = desc_pattern(getattr(other, "desc", "")) if other is not None else ""
            # Of one kind: the same description but for its numbers (an empty one says nothing).
            parent = inner.parent if pattern and kind == pattern else mine[-1]
        if parent is not None:
            self._had_child.add(parent)
        self._family[key] = _Family(thread, parent)
        self._live[key] = weakref.ref(bar)
        return first

    def close(self, bar: Any) -> bool | None:
        """A bar closed; True when no bar runs any more, None when it was not live."""
        key = getattr(bar, "_vh_key", None)
        if key is None or self._live.pop(key, None) is None:
            return None
        family = self._family.pop(key, _NOBODY)
        self._had_child.discard(key)
        if evaluation(getattr(bar, "desc", "") or ""):
            self.evaluations += 1  # an evaluation's metrics may now repeat a value: new points
        self._settle(key, bar, outcome_of(bar), family.parent is None)
        self.round_ended(bar)
        return not self._live

    def round_ended(self, bar: Any) -> None:
        """A bar closed, or is reset for another round: later bars of its description count on
        from its total (its count when larger, or when it had none; nothing if it counted none)."""
        n, total = getattr(bar, "n", 0), getattr(bar, "total", None)
        if isinstance(n, (int, float)) and n > 0:
            if isinstance(total, (int, float)) and total < float("inf"):
                n = max(n, total)
            label = series_label(getattr(bar, "desc", ""))
            rounds = self._rounds
            rounds[label] = rounds.pop(label, 0) + n
            while len(rounds) > MAX_ROUNDS:
                rounds.popitem(last=False)  # the description heard from least recently

    def run_step(self, bar: Any, label: str) -> object:
        """The bar's step in the whole run: its count plus the ended rounds of bars of its
        ``series_label`` (``epoch * batches + batch`` for a bar re-created or reset every epoch,
        also when its description says ``Epoch 3``)."""
        n = loop_count(bar)
        done = self._rounds.get(label)
        return n + done if done and isinstance(n, (int, float)) else n

    def epoch_of(self, bar: Any) -> object:
        """The epoch ``bar`` runs in: the count of the outermost bar it is nested in, or its own
        when bars were nested in it; else None."""
        key = getattr(bar, "_vh_key", None)
        family = self._family.get(key) if isinstance(key, int) else None
        if family is None or not isinstance(key, int):
            return None
        root: int = key
        while family is not None and family.parent is not None:
            root = family.parent
            family = self._family.get(root)
        if root == key:
            return loop_count(bar) if key in self._had_child else None
        ref = self._live.get(root)
        outer = ref() if ref is not None else None
        return loop_count(outer) if outer is not None else None

    def set_milestone(self, text: str | None, color: str | None) -> None:
        self.milestone = Milestone(str(text), color) if text else None
        if not self._live:
            self._ended = []  # "alone when no bar runs"
            self._phases.clear()

    def end(self, error: BaseException | None, stopped: bool = False) -> None:
        """The process is exiting: settle every bar and say how the job ended.

        ``stopped``: SIGTERM ends it (its unfinished bars are interrupted).
        """
        self.over = True
        kind = None
        if stopped or isinstance(error, KeyboardInterrupt):
            kind = INTERRUPTED
        elif isinstance(error, Exception):
            kind = FAILED
        for key, ref in list(self._live.items()):
            bar = ref()
            if bar is not None:
                outcome = outcome_of(bar)
                root = self._family.get(key, _NOBODY).parent is None
                self._settle(key, bar, kind if kind and outcome != COMPLETE else outcome, root)
        self._forget_live()
        if kind:
            self._ended = [
                (row, key, replace(v, outcome=kind) if v.outcome == EARLY else v)
                for row, key, v in self._ended
            ]
            if stopped:
                self.ending = Ending(STOPPED)
            elif error is not None:
                self.ending = Ending(kind, error_text(error))

    def forget_bars(self) -> list[Any]:
        """Drop every live bar (the token was refused); returns them, so they can let go."""
        bars = [bar for bar in (ref() for ref in list(self._live.values())) if bar is not None]
        self._forget_live()
        return bars

    def _forget_live(self) -> None:
        self._live.clear()
        self._family.clear()
        self._had_child.clear()

    # -- what the status reads ------------------------------------------------------------------

    def phases(self) -> list[BarView]:
        """Every outermost bar that ended, oldest first (the newest ``MAX_PHASES``)."""
        return [v for _, _, v in self._phases]

    def live(self) -> list[Live]:
        """The live bars, outermost first (by screen row, then start order)."""
        live = []
        for key, ref in self._live.copy().items():
            bar = ref()
            if bar is not None:
                live.append(Live(screen_row(bar), key, bar))
        live.sort(key=lambda item: item[:2])
        return live

    def views(self) -> tuple[list[BarView], bool]:
        """This process's bars as the status shows them (the live ones, else the ended ones),
        and whether any runs."""
        story = self.story()
        return story.bars, bool(story.live)

    def story(self) -> Story:
        """Everything the status tells of the bars, read once."""
        live = self.live()
        chain: list[Live] = []
        run = False
        if live:
            family = self._family.copy()
            roots = [item for item in live if family.get(item.key, _NOBODY).parent is None]
            if roots:  # the first root and, in turn, the latest bar nested in each
                chain = [roots[0]]
                while True:
                    inner = [i for i in live if family.get(i.key, _NOBODY).parent == chain[-1].key]
                    if not inner:
                        break
                    chain.append(max(inner, key=lambda item: item.key))
                run = bool(getattr(chain[0].bar, "_vh_run", False))
            rest = [item for item in live if item not in chain]
            live = chain + rest
            bars = [view(item.bar) for item in live]
            phases = [v for _, _, v in self._phases]
        else:
            ended = sorted(self._ended, key=lambda item: item[:2])
            bars = [v for _, _, v in ended]
            shown = {key for _, key, _ in ended}  # drawn as gauges: not again as phase lines
            phases = [v for key, _, v in self._phases if key not in shown]
        nested = chain and (len(chain) > 1 or chain[0].key in self._had_child)
        chained = len(chain) if chain and (nested or run) else 0
        return Story(live, chained, run, bars, phases, self.milestone, self.ending, self.over)

    def _settle(self, key: int, bar: Any, outcome: str, root: bool) -> None:
        """Keep a closed bar's final state for the status shown once no bar runs, and an
        outermost bar's as a phase of the run (unless it is no phase: a sanity check)."""
        row, final = screen_row(bar), view(bar, outcome)
        self._ended.append((row, key, final))
        if len(self._ended) > MAX_ENDED:
            del self._ended[0]
        if not root or getattr(bar, "_vh_phase", True) is False:
            return
        pattern = desc_pattern(final.desc)
        phases = self._phases
        if phases and phases[-1][1] == pattern and phases[-1][2].outcome == outcome:
            _, _, last = phases.pop()  # one more bar of that kind: one entry for them all
            final = replace(
                final,
                desc=pattern if pattern != desc_text(final.desc) else final.desc,
                runs=last.runs + 1,
                elapsed=last.elapsed + final.elapsed,
            )
        phases.append((key, pattern, final))


_NOBODY = _Family(-1, None)

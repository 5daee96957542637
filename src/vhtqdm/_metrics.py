"""The metrics book: every numeric ``set_postfix`` value of the run, as series, within caps.

A bar's ``set_postfix`` writes a finite int or float straight into its series (inlined in
``_bar``); any other value (a 0-d tensor, a numpy scalar, a string) is kept raw and converted
here, on the sender thread, when the status is composed: the loop never pays for ``.item()``.
Series are kept per bar description and key (``train loss`` and ``eval loss`` apart), at most
``MAX_SERIES`` of them, so a loop reporting a new key every step cannot grow memory.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from numbers import Number, Real
from typing import Any, Callable

from . import _log
from ._config import Charted
from ._limits import MAX_LABELS, MAX_SERIES, MAX_SPECS, PENDING
from ._series import Series
from ._text import evaluation, series_label
from ._views import MetricView

# Counters and schedules: shown as text, charted only when named in `sparklines=`.
COUNTERS = frozenset(
    {"epoch", "step", "global_step", "steps", "iteration", "iter", "it", "batch", "batch_idx",
     "learning_rate", "lr", "samples", "num_samples", "total_flos"}
)  # fmt: skip


def counter(key: str) -> bool:
    """Whether ``key`` counts (epoch, step) or schedules (learning rate) rather than measures."""
    return key.strip().lower() in COUNTERS


def one_element(value: object) -> bool:
    """A 0-d array or tensor, or a one-element 1-d one (``tensor([0.89])``): read as a number.
    Only attributes are read (``ndim``, ``shape``): no device is waited on."""
    if getattr(value, "ndim", None) == 0:
        return True
    try:
        return tuple(getattr(value, "shape", ())) == (1,)
    except Exception:
        return False


def metric_value(value: object) -> object:
    """A postfix value as the status shows it: a real number, or else a string. Total: any
    object converts (an int beyond float range, or a number whose ``__float__`` raises, is text).

    0-d tensors, one-element arrays and numpy scalars become numbers through ``.item()``, without
    importing numpy or torch.
    """
    if isinstance(value, (str, bool)):
        return str(value)
    if type(value) is int or type(value) is float:
        return value
    if isinstance(value, Real):
        try:
            return float(value)
        except Exception:  # Fraction(10**400, 3) overflows; a subclass may refuse
            return _text(value)
    item = getattr(value, "item", None)
    if item is not None and one_element(value):
        try:
            number = item()
        except Exception:
            number = None
        if isinstance(number, (int, float)) and not isinstance(number, bool):
            return number
    return _text(value)


def _text(value: object) -> str:
    try:
        return str(value)[:200]
    except Exception:
        return "?"


class Book(dict[str, Series]):
    """The series of one bar description, by key: what a bar's ``set_postfix`` writes into."""

    __slots__ = ("full", "label", "specs")

    def __init__(self, label: str, full: bool = False) -> None:
        super().__init__()
        self.label = label
        self.full = full  # beyond MAX_LABELS: records nothing
        self.specs: list[Charted] = []  # the `sparklines=` of the bars writing here


class Metrics:
    """Every series of the run, the raw values waiting for the sender, and what they showed.

    ``step(bar, label)`` says at which step of the run a value comes (``Record.run_step``).
    Written by bars (single dict and deque operations, no lock), read on the sender thread.
    """

    def __init__(
        self,
        window: int,
        step: Callable[[Any, str], object],
        evaluations: Callable[[], int] = lambda: 0,
    ) -> None:
        self.window = window  # points of a series started from now on
        self._step = step
        self._evaluations = evaluations  # evaluations ended so far (``Record.evaluations``)
        self._books: dict[str, Book] = {}  # bar description -> its series by key
        self._series: dict[tuple[str, str], Series] = {}  # (description, key), first reported first
        self._pending: dict[Series, deque[tuple[object, object]]] = {}  # (raw value, step)
        self._shown: dict[Series, tuple[object, object]] = {}  # (raw, converted) latest values

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

    def add_pairs(self, bar: Any, pairs: Iterable[tuple[object, object]]) -> None:
        """Postfix values given as pairs (the general path; the bar inlines the usual one)."""
        book = bar._vh_book if bar._vh_desc is bar.desc else self.book(bar)
        for name, value in pairs:
            self.add(bar, book, name if type(name) is str else str(name), value)

    def add(self, bar: Any, book: Book, key: str, value: object) -> None:
        """One postfix value the bar's inlined path leaves here: a new key, a non-finite number,
        any other type. Nothing is converted here (no ``.item()``, no ``str()``): the sender does
        it, so the loop never waits on a device or pays for a value's text twice."""
        series = book.get(key)
        if series is None:
            if book.full:
                return
            if len(self._series) >= MAX_SERIES:  # the cap holds where values are written
                _log.warn_once(
                    "metrics", f"more than {MAX_SERIES} postfix keys: later ones are not shown"
                )
                return
            series = book.setdefault(key, Series(self.window, evaluation(book.label, key)))
            self._series.setdefault((book.label, key), series)
        kind = type(value)
        if kind is float or kind is int:
            step = self._step(bar, book.label)
            series.add(value, step, evaluations=self._evaluations())  # type: ignore[arg-type]
            return
        series.last = value
        if (
            kind is not str
            and kind is not bool
            and (isinstance(value, Number) or one_element(value))
        ):
            pending = self._pending.get(series)
            if pending is None:
                pending = self._pending.setdefault(series, deque(maxlen=PENDING))
            pending.append((value, self._step(bar, book.label)))

    def shown(self, raw: object, label: str, key: str) -> object:
        """The converted value of ``raw`` if the sender has converted it as the latest of its
        series (metadata lines read it), else None."""
        series = self._series.get((label, key))
        shown = self._shown.get(series) if series is not None else None
        return shown[1] if shown is not None and shown[0] is raw else None

    def clear(self) -> None:
        """Forget everything (nothing will be sent again)."""
        self._books.clear()
        self._series.clear()
        self._pending.clear()
        self._shown.clear()

    # -- on the sender thread -------------------------------------------------------------------

    def views(self) -> list[MetricView]:
        """Every series as the status shows it, converting the values the bars left raw. A
        series that cannot be read (an odd value) is left out; the others are not."""
        items = list(self._series.items())
        keys: dict[str, int] = {}  # key -> descriptions reporting it
        for (_, key), _ in items:
            keys[key] = keys.get(key, 0) + 1
        views = []
        for (label, key), series in items:
            try:
                views.append(self._view(label, key, series, keys[key] > 1))
            except Exception:
                continue
        self._check_specs(views)
        return views

    def _check_specs(self, views: list[MetricView]) -> None:
        """One warning for a key ``sparklines=`` names that no bar reports while one close to it
        does (``los`` for ``loss``): that curve would be missing in silence."""
        shown = {name for view in views for name in (view.name, view.name.rsplit(" ", 1)[-1])}
        for book in list(self._books.values()):
            for spec in book.specs:
                if not isinstance(spec, frozenset) or not shown:
                    continue
                for wanted in sorted(spec - shown):
                    import difflib  # only for a key that matches nothing

                    near = difflib.get_close_matches(wanted, sorted(shown), n=1, cutoff=0.6)
                    if near:
                        _log.warn_once(
                            f"sparklines:{wanted}",
                            f"sparklines names {wanted[:40]!r}, which no bar reports "
                            f"(did you mean {near[0]!r}?): no curve for it",
                        )

    def _view(self, label: str, key: str, series: Series, shared: bool) -> MetricView:
        self._fold_pending(series)
        name = f"{label} {key}" if label and shared else key
        book = self._books.get(label)
        specs = book.specs if book is not None else []
        numeric = series.low <= series.high or series.bad is not None  # a number came
        names = {key, name, f"{label} {key}"}
        charted = numeric and any(
            (not counter(key)) if spec is True else bool(names & spec) for spec in specs
        )
        return MetricView(
            name,
            self._shown_value(series),
            tuple(series.points()),
            charted,
            low=series.low if math.isfinite(series.low) else None,
            high=series.high if math.isfinite(series.high) else None,
            bad=series.bad,
            bad_step=series.bad_step,
        )

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

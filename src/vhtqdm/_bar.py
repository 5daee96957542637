"""``vhtqdm.tqdm``: tqdm's own bar, which also tells the process's mirror what it does.

The class records and never sends: starting and closing register with the process's mirror
(``_mirror``), and ``set_postfix`` writes numeric values into its metrics. Iteration and
``update`` are tqdm's, untouched, so the hot loop costs exactly what tqdm costs (``__iter__``
only keeps a weak reference to tqdm's iterator, whose local count is a ``for`` loop's true
step); the sender thread reads ``n``/``total``/``desc`` itself, which also sees ``bar.n = x``,
``reset()`` and ``set_description``. ``display`` hands over to tqdm's after a few attribute
checks, unless the bar is in log mode (``_logmode``).

The class is also a mixin: ``class X(vhtqdm.tqdm, some_tqdm_subclass)`` mirrors any tqdm flavour
(notebook, asyncio, rich, Lightning's bar), which is how the flavour modules are built.
"""

from __future__ import annotations

import contextlib
import weakref
from collections import OrderedDict
from numbers import Number
from typing import TYPE_CHECKING, Any

from tqdm.std import tqdm as std_tqdm

from . import _process

if TYPE_CHECKING:
    from ._logmode import LogLine
    from ._metrics import Book
    from ._mirror import Mirror

__all__ = ["tqdm", "trange"]


class tqdm(std_tqdm):  # type: ignore[misc]  # tqdm ships no type information
    """A ``tqdm.tqdm`` whose state is mirrored into the Valohai execution status.

    Takes every tqdm argument, plus:

    - ``status``: None (default) mirrors when a Valohai config is found; False never mirrors
      this bar.
    - ``status_interval``: seconds between two regular status posts of the process (default 5,
      ``VHTQDM_STATUS_INTERVAL``); a run's first bar, its last close and milestones go out at once.
    - ``sparklines``: True charts every numeric postfix value, False none, or an iterable of keys
      (``VHTQDM_SPARKLINES``).
    - ``sparkline_window``: points kept per sparkline (default 40, ``VHTQDM_SPARKLINE_WINDOW``).
    - ``log_interval``: when mirrored and drawing on a stdout/stderr that is not a terminal, print a
      plain line at most every so many seconds (default 30, ``VHTQDM_LOG_INTERVAL``; 0: tqdm's
      own ``\\r`` redraws).
    - ``metadata``: also print numeric postfix values as Valohai metadata lines (default False,
      ``VHTQDM_METADATA``).
    - ``stall_after``: seconds without progress of any bar after which the status says
      "stalled" (default 300, ``VHTQDM_STALL_AFTER``; 0 turns it off).
    """

    _vh_text = True  # draws text through tqdm's display() (set for each subclass below)
    _vh_log: LogLine | None = None
    # The series of the bar's description, and the desc they are for (see Metrics.book).
    _vh_desc: object = object()  # no desc is this object: the first set_postfix looks it up
    _vh_book: Book  # set by that look-up
    _vh_iter: weakref.ref[Any] | None = None  # the latest iterator over the bar (``__iter__``)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Log mode is for bars drawn as text: is the display() after ours in the MRO tqdm's own,
        # or a widget's (notebook, rich), which draws no text and takes other arguments?
        after = cls.__mro__[cls.__mro__.index(tqdm) + 1 :]
        cls._vh_text = next(c for c in after if "display" in vars(c)) is std_tqdm

    def __init__(
        self,
        *args: Any,
        status: bool | None = None,
        status_interval: float | None = None,
        sparklines: Any = None,
        sparkline_window: int | None = None,
        log_interval: float | None = None,
        metadata: bool | None = None,
        stall_after: float | None = None,
        **kwargs: Any,
    ) -> None:
        # tqdm's __init__ may already call set_postfix() and refresh(): be ready before it.
        self._vh: Mirror | None = None
        self._vh_outcome: str | None = None  # how an exception leaving the `with` ended the bar
        self._vh_detail = ""
        self._vh_log = None
        self._vh_meta = False
        mirror = _process.get() if status is not False else None
        if mirror is not None:
            try:
                self._vh_charted = mirror.options(
                    status_interval, sparklines, sparkline_window, stall_after
                )
                self._vh_meta = mirror.bar_option("metadata", metadata, mirror.settings.metadata)
                if self._vh_text:
                    from . import _logmode

                    seconds = mirror.bar_option(
                        "log_interval", log_interval, mirror.settings.log_interval
                    )
                    args, self._vh_log = _logmode.plan(args, kwargs, seconds)
                self._vh = mirror
            except Exception:  # never in the way of the bar: it is tqdm's, unmirrored
                mirror = None
        super().__init__(*args, **kwargs)
        if mirror is not None:
            if self.disable or not mirror.start(self):
                self._vh = None
                return
            if self._vh_log is not None and self._vh_log.file is None:
                from . import _logmode

                _logmode.hide(self)
            with contextlib.suppress(Exception):
                _process.bar_started(mirror)

    def __iter__(self) -> Any:
        """tqdm's iterator, remembered weakly: it holds the loop's true count (``loop_count``)."""
        iterator = super().__iter__()
        if self._vh is not None:
            with contextlib.suppress(TypeError):  # a flavour's iterator may not be weakly referable
                self._vh_iter = weakref.ref(iterator)
        return iterator

    def set_postfix(  # noqa: PLR0915  # one fused fast path: a helper call would cost more
        self, ordered_dict: Any = None, refresh: bool = True, **kwargs: Any
    ) -> None:
        """tqdm's ``set_postfix`` (same text), also noting the values for the status.

        The keyword-only call, once per step in most training loops, is re-implemented here with
        the recording fused in, so that it costs less than tqdm's own; property tests check that
        it builds exactly tqdm's postfix. Every other form goes through tqdm. A finite int or
        float goes straight into its series (``Series.add`` inlined); anything else is left,
        unconverted, to ``Metrics.add`` and the sender thread.
        """
        mirror = self._vh
        if ordered_dict is not None:
            if mirror is not None:
                try:
                    ordered_dict = OrderedDict(ordered_dict)  # may be a one-shot iterator of pairs
                    pairs = list(ordered_dict.items()) + sorted(kwargs.items())
                    mirror.metrics.add_pairs(self, pairs)
                    if self._vh_meta:
                        mirror.metadata.report(self, pairs)
                except Exception:
                    pass
            super().set_postfix(ordered_dict, refresh, **kwargs)
            return
        odd = False
        try:
            fmt = self.format_num
            if mirror is not None:
                book = self._vh_book if self._vh_desc is self.desc else mirror.metrics.book(self)
            parts = []
            for key in sorted(kwargs):
                value = kwargs[key]
                kind = type(value)
                if kind is float or kind is int:
                    if mirror is not None:
                        series = book.get(key)
                        # Finite (within ±_series.HUGE; NaN fails too): Series.add, inlined.
                        if (
                            series is not None
                            and -1.7976931348623157e308 <= value <= 1.7976931348623157e308
                        ):
                            if (
                                series.once
                                and value == series.last
                                and series.seen == mirror.record.evaluations
                            ):
                                pass  # an evaluation's value reported again: one point
                            else:
                                if series.once:
                                    series.seen = mirror.record.evaluations
                                series.total += value
                                series.last = value
                                if value < series.low:  # noqa: PLR1730  # min() is a call
                                    series.low = value
                                if value > series.high:  # noqa: PLR1730
                                    series.high = value
                                series.room -= 1
                                if not series.room:
                                    series.close()
                        else:
                            mirror.metrics.add(self, book, key, value)
                    text = fmt(value)
                else:
                    if mirror is not None:
                        mirror.metrics.add(self, book, key, value)
                    if isinstance(value, Number):
                        text = fmt(value)
                    else:
                        text = value if isinstance(value, str) else str(value)
                parts.append(key + "=" + text.strip())
        except Exception:  # an odd value: let tqdm build the text, and raise what tqdm raises
            odd = True
        if odd:  # outside the except: tqdm's own traceback, not a chained one
            super().set_postfix(None, refresh, **kwargs)
            return
        self.postfix = ", ".join(parts)
        if mirror is not None and self._vh_meta:
            with contextlib.suppress(Exception):
                mirror.metadata.report(self, kwargs.items())
        if refresh:
            self.refresh()

    def display(self, msg: str | None = None, pos: int | None = None, **kwargs: Any) -> Any:
        """tqdm's ``display`` (any flavour's), or in log mode a plain line now and then."""
        mirror = self._vh
        if mirror is not None:
            with contextlib.suppress(Exception):
                _process.bar_drawn(mirror)
        log = self._vh_log
        if log is None:
            return super().display(msg, pos, **kwargs)
        return log.display(self, msg)

    def reset(self, total: float | None = None) -> None:
        """tqdm's ``reset``: the run's step counts on (``Record.round_ended``); in log mode the
        round that ends first gets its line."""
        log = self._vh_log
        if log is not None and not self.disable:
            log.round_ended(self)
        mirror = self._vh
        if mirror is not None:
            with contextlib.suppress(Exception):
                mirror.round_ended(self)
        super().reset(total=total)

    def __exit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> Any:
        if exc_value is not None and self._vh is not None:
            from ._record import ended_by  # loaded with the mirror

            # Plain text only: keeping the exception would keep its traceback's frames alive.
            with contextlib.suppress(Exception):
                self._vh_outcome, self._vh_detail = ended_by(exc_value)
        return super().__exit__(exc_type, exc_value, traceback)

    def close(self) -> None:
        """Close as tqdm does, then hand the final state to the mirror (its waiting metadata
        values are printed first, above the bar's last line)."""
        mirror = self.__dict__.get("_vh")  # may be absent on a half-built bar
        from_gc = self.__dict__.get("_vh_gc", False)
        if mirror is not None and self._vh_meta and not from_gc and not self.disable:
            with contextlib.suppress(Exception):
                mirror.metadata.bar_closed(self)
        try:
            super().close()
        finally:
            if mirror is not None:
                self._vh = None
                with contextlib.suppress(Exception):
                    mirror.close(self, from_gc=from_gc)

    def __del__(self) -> None:
        # Garbage collection may finalize a forgotten bar on any thread, inside any lock.
        self._vh_gc = True
        super().__del__()


def trange(*args: Any, **kwargs: Any) -> tqdm:
    """Shortcut for ``vhtqdm.tqdm(range(*args), **kwargs)``."""
    return tqdm(range(*args), **kwargs)

"""What a bar tells the process's mirror, as functions of the bar: the one recording of bars.

``vhtqdm.tqdm`` (``_bar``) calls them around tqdm's methods, and so does tqdm's own class in
zero-code mode (``_instrument``), so a library's bar is recorded exactly as vhtqdm's own is.
Each works on the bar's ``_vh*`` attributes, does no I/O, and keeps its own trouble to itself:
only ``set_postfix`` raises, and only what tqdm's raises.

The pairs around a tqdm method (``prepare``/``started``, ``closing``/``closed``) leave the call
of tqdm's method to the caller: a subclass calls ``super()``, the instrumentation tqdm's
original, and neither pays for a bound method it does not need.
"""

from __future__ import annotations

import contextlib
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from numbers import Number
from typing import TYPE_CHECKING, Any

from tqdm.std import tqdm as std_tqdm

from . import _process, _tricks

if TYPE_CHECKING:
    from ._logmode import LogLine
    from ._mirror import Mirror

#: What :func:`postfix` returns when it has set the postfix itself (no call of tqdm's needed).
DONE = object()
#: A bar's ``_vh_desc`` before its first ``set_postfix`` (no description is this object).
NO_DESC = object()
#: What a recorded bar's class provides before ``prepare`` has run (and on bars it never ran
#: for, built before zero-code mode instrumented tqdm's class).
CLASS_DEFAULTS: dict[str, object] = {
    "_vh": None,
    "_vh_own": False,
    "_vh_log": None,
    "_vh_meta": False,
    "_vh_desc": NO_DESC,
    "_vh_iter": None,
    "_vh_outcome": None,
    "_vh_detail": "",
}


def draws_text(mro: Sequence[type]) -> bool:
    """Whether bars of a class whose MRO (from some point on) is ``mro`` draw text through
    tqdm's ``display`` (log mode applies), rather than a widget's (notebook, rich)."""
    return next(c for c in mro if "display" in vars(c)) is std_tqdm


def prepare(
    bar: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    text: bool,
    *,
    status: bool | None = None,
    status_interval: float | None = None,
    sparklines: Any = None,
    sparkline_window: int | None = None,
    log_interval: float | None = None,
    metadata: bool | None = None,
    stall_after: float | None = None,
) -> tuple[tuple[Any, ...], Mirror | None]:
    """Before tqdm's ``__init__`` (which may already call ``set_postfix`` and ``refresh``): the
    bar's attributes, the process's mirror (None: not mirrored) and, for a bar drawn as ``text``
    in a log, log mode's arguments for tqdm (``kwargs`` is changed in place)."""
    bar._vh = None
    bar._vh_outcome = None  # how an exception leaving the `with` ended the bar
    bar._vh_detail = ""
    bar._vh_log = None
    bar._vh_meta = False
    if status is False or _disabled(args, kwargs):
        return args, None
    mirror = _process.get()
    if mirror is None:
        return args, None
    try:
        bar._vh_charted = mirror.options(status_interval, sparklines, sparkline_window, stall_after)
        bar._vh_meta = mirror.bar_option("metadata", metadata, mirror.settings.metadata)
        if text:
            from . import _logmode

            seconds = mirror.bar_option("log_interval", log_interval, mirror.settings.log_interval)
            args, bar._vh_log = _logmode.plan(args, kwargs, seconds)
        bar._vh = mirror
    except Exception:  # never in the way of the bar: it is tqdm's, unmirrored
        return args, None
    return args, mirror


def _disabled(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """``disable=True``: the bar never shows, so the process gets no mirror for it (no thread,
    no claim, no status: a rank whose bars are all hidden is nobody's poster). ``disable=None``
    is not this: tqdm hides such a bar off a terminal, but it counts and is mirrored."""
    return _tricks.tqdm_argument(args, kwargs, "disable", False) is True


def started(bar: Any, mirror: Mirror) -> None:
    """After tqdm's ``__init__``: the bar is registered with the mirror (unless disabled)."""
    try:
        if bar.disable or not mirror.start(bar):
            bar._vh = None
            return
        if bar._vh_log is not None and bar._vh_log.file is None:
            from . import _logmode

            _logmode.hide(bar)
        _process.bar_started(mirror)
    except Exception:
        pass


def iterating(bar: Any, iterator: Any) -> Any:
    """tqdm's iterator over the bar, remembered weakly: it holds the loop's true count
    (``_record.loop_count``); returns it."""
    if bar._vh is not None:
        with contextlib.suppress(TypeError):  # a flavour's iterator may not be weakly referable
            bar._vh_iter = weakref.ref(iterator)
    return iterator


def postfix(  # noqa: PLR0915  # one fused fast path: a helper call would cost more
    bar: Any, ordered_dict: Any, refresh: bool, kwargs: dict[str, Any]
) -> Any:
    """``set_postfix`` noting the values for the status: returns :data:`DONE` when the postfix
    is set, else the ``ordered_dict`` to hand to tqdm's ``set_postfix`` (with ``kwargs``).

    The keyword-only call, once per step in most training loops, is re-implemented here with
    the recording fused in, so that it costs less than tqdm's own; property tests check that
    it builds exactly tqdm's postfix. Every other form goes through tqdm. A finite int or
    float goes straight into its series (``Series.add`` inlined); anything else is left,
    unconverted, to ``Metrics.add`` and the sender thread.
    """
    mirror = bar._vh
    if ordered_dict is not None:
        if mirror is not None:
            try:
                ordered_dict = OrderedDict(ordered_dict)  # may be a one-shot iterator of pairs
                pairs = list(ordered_dict.items()) + sorted(kwargs.items())
                mirror.metrics.add_pairs(bar, pairs)
                if bar._vh_meta:
                    mirror.metadata.report(bar, pairs)
            except Exception:
                pass
        return ordered_dict
    try:
        fmt = bar.format_num
        if mirror is not None:
            book = bar._vh_book if bar._vh_desc is bar.desc else mirror.metrics.book(bar)
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
                        mirror.metrics.add(bar, book, key, value)
                text = fmt(value)
            else:
                if mirror is not None:
                    mirror.metrics.add(bar, book, key, value)
                if isinstance(value, Number):
                    text = fmt(value)
                else:
                    text = value if isinstance(value, str) else str(value)
            parts.append(key + "=" + text.strip())
    except Exception:  # an odd value: tqdm builds the text, and raises what tqdm raises
        return None
    bar.postfix = ", ".join(parts)
    if mirror is not None and bar._vh_meta:
        with contextlib.suppress(Exception):
            mirror.metadata.report(bar, kwargs.items())
    if refresh:
        bar.refresh()
    return DONE


def drawn(bar: Any) -> LogLine | None:
    """The bar redraws (often: kept cheap): a sender thread that could not start is tried again,
    SIGTERM's watch re-armed. Returns the bar's log line (None: tqdm's ``display`` draws)."""
    mirror = bar._vh
    if mirror is not None:
        with contextlib.suppress(Exception):
            _process.bar_drawn(mirror)
    log: LogLine | None = bar._vh_log
    return log


def round_ended(bar: Any) -> None:
    """Before tqdm's ``reset``: the run's step counts on (``Record.round_ended``); in log mode
    the round that ends first gets its line."""
    log = bar._vh_log
    if log is not None and not bar.disable:
        log.round_ended(bar)
    mirror = bar._vh
    if mirror is not None:
        with contextlib.suppress(Exception):
            mirror.round_ended(bar)


def exiting(bar: Any, exc_value: BaseException | None) -> None:
    """An exception leaves the bar's ``with``: its outcome, as plain text only (keeping the
    exception would keep its traceback's frames alive)."""
    if exc_value is not None and bar._vh is not None:
        from ._record import ended_by  # loaded with the mirror

        with contextlib.suppress(Exception):
            bar._vh_outcome, bar._vh_detail = ended_by(exc_value)


def closing(bar: Any) -> tuple[Mirror | None, bool]:
    """Before tqdm's ``close``: the bar's waiting metadata values are printed (above its last
    line); returns its mirror (None: not mirrored) and whether the garbage collector closes it,
    for :func:`closed`."""
    mirror: Mirror | None = bar.__dict__.get("_vh")  # may be absent on a half-built bar
    from_gc: bool = bar.__dict__.get("_vh_gc", False)
    if mirror is not None and bar._vh_meta and not from_gc and not bar.disable:
        with contextlib.suppress(Exception):
            mirror.metadata.bar_closed(bar)
    return mirror, from_gc


def closed(bar: Any, mirror: Mirror, from_gc: bool) -> None:
    """After tqdm's ``close`` (also when it raised): the final state goes to the mirror."""
    bar._vh = None
    with contextlib.suppress(Exception):
        mirror.close(bar, from_gc=from_gc)

"""``vhtqdm.tqdm``: tqdm's own bar, which also tells the process's mirror what it does.

The class records and never sends: starting and closing register with the process's mirror
(``_mirror``), and ``set_postfix`` writes numeric values into its metrics. Iteration and
``update`` are tqdm's, untouched, so the hot loop costs exactly what tqdm costs (``__iter__``
only keeps a weak reference to tqdm's iterator, whose local count is a ``for`` loop's true
step); the sender thread reads ``n``/``total``/``desc`` itself, which also sees ``bar.n = x``,
``reset()`` and ``set_description``. ``display`` hands over to tqdm's after a few attribute
checks, unless the bar is in log mode (``_logmode``). What each method records is in
``_hooks``, which zero-code mode (``_instrument``) calls from tqdm's own class as well; a bar of
this class says so (``_vh_own``), and that instrumented class then only passes it through.

The class is also a mixin: ``class X(vhtqdm.tqdm, some_tqdm_subclass)`` mirrors any tqdm flavour
(notebook, asyncio, rich, Lightning's bar), which is how the flavour modules are built.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from tqdm.std import tqdm as std_tqdm

from . import _hooks

if TYPE_CHECKING:
    from ._logmode import LogLine
    from ._metrics import Book

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

    _vh_own = True  # vhtqdm's own bar: tqdm's instrumented class (zero-code mode) steps aside
    _vh_text = True  # draws text through tqdm's display() (set for each subclass below)
    _vh_log: LogLine | None = None
    # The series of the bar's description, and the desc they are for (see Metrics.book).
    _vh_desc: object = _hooks.NO_DESC  # the first set_postfix looks the series up
    _vh_book: Book  # set by that look-up
    _vh_iter: weakref.ref[Any] | None = None  # the latest iterator over the bar (``__iter__``)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Log mode is for bars drawn as text: is the display() after ours in the MRO tqdm's own,
        # or a widget's (notebook, rich), which draws no text and takes other arguments?
        cls._vh_text = _hooks.draws_text(cls.__mro__[cls.__mro__.index(tqdm) + 1 :])

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
        args, mirror = _hooks.prepare(
            self,
            args,
            kwargs,
            self._vh_text,
            status=status,
            status_interval=status_interval,
            sparklines=sparklines,
            sparkline_window=sparkline_window,
            log_interval=log_interval,
            metadata=metadata,
            stall_after=stall_after,
        )
        super().__init__(*args, **kwargs)
        if mirror is not None:
            _hooks.started(self, mirror)

    def __iter__(self) -> Any:
        """tqdm's iterator, remembered weakly: it holds the loop's true count (``loop_count``)."""
        return _hooks.iterating(self, super().__iter__())

    def set_postfix(self, ordered_dict: Any = None, refresh: bool = True, **kwargs: Any) -> None:
        """tqdm's ``set_postfix`` (same text), also noting the values for the status; the
        keyword-only call is vhtqdm's own, fused with the recording (``_hooks.postfix``)."""
        rest = _hooks.postfix(self, ordered_dict, refresh, kwargs)
        if rest is not _hooks.DONE:
            super().set_postfix(rest, refresh, **kwargs)

    def display(self, msg: str | None = None, pos: int | None = None, **kwargs: Any) -> Any:
        """tqdm's ``display`` (any flavour's), or in log mode a plain line now and then."""
        log = _hooks.drawn(self)
        if log is None:
            return super().display(msg, pos, **kwargs)
        return log.display(self, msg)

    def reset(self, total: float | None = None) -> None:
        """tqdm's ``reset``, once the mirror and log mode know that a round ended."""
        _hooks.round_ended(self)
        super().reset(total=total)

    def __exit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> Any:
        _hooks.exiting(self, exc_value)
        return super().__exit__(exc_type, exc_value, traceback)

    def close(self) -> None:
        """Close as tqdm does, then hand the final state to the mirror (its waiting metadata
        values are printed first, above the bar's last line)."""
        mirror, from_gc = _hooks.closing(self)
        try:
            super().close()
        finally:
            if mirror is not None:
                _hooks.closed(self, mirror, from_gc)

    def __del__(self) -> None:
        # Garbage collection may finalize a forgotten bar on any thread, inside any lock.
        self._vh_gc = True
        super().__del__()


def trange(*args: Any, **kwargs: Any) -> tqdm:
    """Shortcut for ``vhtqdm.tqdm(range(*args), **kwargs)``."""
    return tqdm(range(*args), **kwargs)

"""Zero-code mode: tqdm's own class records what its bars do, so every bar of a program is
mirrored, including those a library draws for itself.

Libraries bind tqdm when they are imported (``from tqdm.auto import tqdm``; huggingface_hub
subclasses ``tqdm.auto.tqdm``), so replacing names would miss them. Every flavour derives from
``tqdm.std.tqdm`` (asyncio, rich, notebook, ``tqdm.auto``, a library's own subclass) and calls
its methods through ``super()``, so instrumenting that one class in place reaches every bar,
even of a subclass defined before. Its ``__init__``, ``__iter__``, ``set_postfix``, ``display``,
``reset``, ``__exit__``, ``close`` and ``__del__`` are replaced by functions that call
``_hooks`` (the recording vhtqdm's own class uses) around tqdm's originals; ``update`` and the
iteration itself stay tqdm's code. A bar of vhtqdm's own class (``_vh_own``: the user's, an
adapter's) records itself already: the instrumented methods only pass it to tqdm's.

This module reads tqdm's internals (the names and parameters of those methods): it checks them
before touching anything, and a tqdm that differs stays as it is, with one warning. The start-up
hook (``_vhtqdm_auto``, for ``VHTQDM_AUTO=1`` and ``vhtqdm run``) calls :func:`install` once
tqdm is imported, on Valohai only.
"""

from __future__ import annotations

import functools
import inspect
import threading
from typing import Any, Callable

from tqdm.std import tqdm as std_tqdm

from . import _hooks, _log

#: tqdm's methods that are instrumented, with the parameters (after ``self``) each must take.
METHODS: dict[str, tuple[str, ...]] = {
    "__init__": ("iterable",),  # its first parameter; the others are passed through as given
    "__iter__": (),
    "set_postfix": ("ordered_dict", "refresh", "kwargs"),
    "display": ("msg", "pos"),
    "reset": ("total",),
    "__exit__": ("exc_type", "exc_value", "traceback"),
    "close": (),
    "__del__": (),
}

_lock = threading.Lock()
# While installed: what tqdm's class held under each name it was given (method or default).
_saved: dict[str, Any] = {}
_MISSING = object()


def installed() -> bool:
    """Whether tqdm's class is instrumented."""
    return bool(_saved)


def unsupported() -> str | None:
    """Why the installed tqdm cannot be instrumented (a method missing or of another shape),
    or None when it can."""
    for name, expected in METHODS.items():
        method = vars(std_tqdm).get(name)
        if method is None:
            return f"tqdm.std.tqdm has no {name}"
        try:
            params = list(inspect.signature(getattr(std_tqdm, name)).parameters)[1:]
        except (TypeError, ValueError):
            return f"tqdm.std.tqdm.{name} has no signature"
        if params[: len(expected)] != list(expected):
            return f"tqdm.std.tqdm.{name} takes ({', '.join(params)})"
    if not inspect.isgeneratorfunction(std_tqdm.__iter__):
        return "tqdm.std.tqdm.__iter__ is not a generator"
    return None


def install() -> bool:
    """Instrument ``tqdm.std.tqdm`` (idempotent, thread-safe); False when this tqdm cannot be
    (one warning: its bars are then plain tqdm's)."""
    with _lock:
        if _saved:
            return True
        problem = unsupported()
        if problem is not None:
            _log.warn_once("instrument", f"zero-code mode is off: {problem}")
            return False
        originals = {name: getattr(std_tqdm, name) for name in METHODS}
        replacements: dict[str, object] = {**_hooks.CLASS_DEFAULTS, **_methods(originals)}
        for name, value in replacements.items():
            _saved[name] = vars(std_tqdm).get(name, _MISSING)
            setattr(std_tqdm, name, value)
        return True


def uninstall() -> None:
    """Give tqdm's class back exactly as it was (the benchmarks' plain side, and tests); bars
    recorded meanwhile close as tqdm's."""
    with _lock:
        for name, value in _saved.items():
            if value is _MISSING:
                delattr(std_tqdm, name)
            else:
                setattr(std_tqdm, name, value)
        _saved.clear()


def _methods(originals: dict[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    """tqdm's instrumented methods, each calling its ``original`` (``functools.wraps``: the name,
    the docstring and, through ``__wrapped__``, the signature stay tqdm's)."""
    init, iterate, set_postfix, display, reset, exit_, close, delete = (
        originals[name] for name in METHODS
    )
    prepare, started, postfix, done = _hooks.prepare, _hooks.started, _hooks.postfix, _hooks.DONE

    @functools.wraps(init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if self._vh_own:
            init(self, *args, **kwargs)
            return
        args, mirror = prepare(self, args, kwargs, _hooks.draws_text(type(self).__mro__))
        init(self, *args, **kwargs)
        if mirror is not None:
            started(self, mirror)

    @functools.wraps(iterate)
    def __iter__(self: Any) -> Any:
        iterator = iterate(self)
        return iterator if self._vh_own else _hooks.iterating(self, iterator)

    @functools.wraps(set_postfix)
    def _set_postfix(
        self: Any, ordered_dict: Any = None, refresh: bool = True, **kwargs: Any
    ) -> None:
        if self._vh_own:
            set_postfix(self, ordered_dict, refresh, **kwargs)
            return
        rest = postfix(self, ordered_dict, refresh, kwargs)
        if rest is not done:
            set_postfix(self, rest, refresh, **kwargs)

    @functools.wraps(display)
    def _display(self: Any, msg: Any = None, pos: Any = None, **kwargs: Any) -> Any:
        log = None if self._vh_own else _hooks.drawn(self)
        if log is None:
            return display(self, msg, pos, **kwargs)
        return log.display(self, msg)

    @functools.wraps(reset)
    def _reset(self: Any, total: Any = None) -> None:
        if not self._vh_own:
            _hooks.round_ended(self)
        reset(self, total=total)

    @functools.wraps(exit_)
    def __exit__(self: Any, exc_type: Any, exc_value: Any, traceback: Any) -> Any:
        if not self._vh_own:
            _hooks.exiting(self, exc_value)
        return exit_(self, exc_type, exc_value, traceback)

    @functools.wraps(close)
    def _close(self: Any) -> None:
        if self._vh_own:
            close(self)
            return
        mirror, from_gc = _hooks.closing(self)
        try:
            close(self)
        finally:
            if mirror is not None:
                _hooks.closed(self, mirror, from_gc)

    @functools.wraps(delete)
    def __del__(self: Any) -> None:
        # Garbage collection may finalize a forgotten bar on any thread, inside any lock.
        self._vh_gc = True
        delete(self)

    return {
        "__init__": __init__,
        "__iter__": __iter__,
        "set_postfix": _set_postfix,
        "display": _display,
        "reset": _reset,
        "__exit__": __exit__,
        "close": _close,
        "__del__": __del__,
    }

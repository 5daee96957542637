"""Every use of another library's or the interpreter's internals, guarded, in one place.

vhtqdm reads a few things no public API offers: tqdm's private state (its smoothed rate, its
screen registry, the local count of its iterator, its arguments' positions), the interpreter's
exit state, the ``http.client`` plumbing under urllib3's connections. Each is here, checked
against what it reads (when the check fails, the feature falls back to the public behaviour),
and pinned by ``tests/test_tricks.py`` on every CPython and tqdm the suite runs.
"""

from __future__ import annotations

import contextlib
import io
import socket
import sys
import threading
import time
from collections.abc import Iterator
from types import ModuleType
from typing import Any

from tqdm.std import tqdm as std_tqdm

# -- tqdm ------------------------------------------------------------------------------------------

_positions: dict[str, int | None] = {}


def tqdm_argument_index(name: str) -> int | None:
    """The position of ``tqdm.__init__``'s argument ``name`` after ``self`` (``file``: 4), or
    None when it cannot be passed by position (``TQDM_*`` overrides make it keyword-only)."""
    if name not in _positions:
        import inspect  # tqdm has loaded it already (tqdm.utils.envwrap)

        try:
            parameters = list(inspect.signature(std_tqdm.__init__).parameters.values())[1:]
            positional = [p.name for p in parameters if p.kind is p.POSITIONAL_OR_KEYWORD]
            _positions[name] = positional.index(name) if name in positional else None
        except (TypeError, ValueError):
            _positions[name] = None
    return _positions[name]


def tqdm_argument(args: tuple[Any, ...], kwargs: dict[str, Any], name: str, default: Any) -> Any:
    """tqdm's argument ``name`` of a call, given by keyword or by position."""
    if name in kwargs:
        return kwargs[name]
    index = tqdm_argument_index(name)
    return args[index] if index is not None and len(args) > index else default


def _iterator_counts_in_n() -> bool:
    """tqdm's ``__iter__`` keeps the loop's count in a local ``n`` and its iterable in
    ``iterable`` (true since tqdm 4.0; checked once, as the code of the installed tqdm says,
    under zero-code mode's instrumentation when it is in place: ``__wrapped__``)."""
    import inspect  # tqdm has loaded it already (tqdm.utils.envwrap)

    code = inspect.unwrap(std_tqdm.__iter__).__code__
    return "n" in code.co_varnames and code.co_flags & 0x20 != 0  # CO_GENERATOR


_COUNTS_IN_N = _iterator_counts_in_n()


def loop_count(bar: Any, iterator: Any) -> object:
    """The bar's count now, for the step a value came at.

    Inside ``for x in bar`` tqdm counts in a local ``n`` of its generator and writes ``bar.n``
    only when it redraws (every ``mininterval``); the local is read from the generator's frame
    (on the loop's own thread only). A flavour may wrap tqdm's generator in its own (notebook:
    ``for obj in it: yield obj``): its local ``it`` is followed, twice at most.
    """
    if _COUNTS_IN_N:
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


def tqdm_rate(bar: Any) -> float | None:
    """tqdm's smoothed rate (units per second) as its meter shows it, or None."""
    try:
        dt = bar._ema_dt()
        return float(bar._ema_dn() / dt) if dt else None
    except Exception:  # another tqdm: the caller uses the overall average
        return None


def hide_bar(bar: Any) -> None:
    """Take a bar off tqdm's screen registry: it holds no line of the terminal.

    tqdm gives every bar in ``_instances`` a line; closing one moves the bars at or below
    ``nrows - 1`` up (``_decr_instances``), which ``nrows = sys.maxsize`` keeps it out of.
    """
    with contextlib.suppress(Exception), bar.get_lock():
        bar._instances.discard(bar)
        bar.nrows = sys.maxsize


def bars_drawing_on(cls: Any, streams: tuple[Any, ...]) -> bool:
    """Whether a live, enabled bar of tqdm's registry draws on one of ``streams``."""
    return any(
        not getattr(bar, "disable", True) and getattr(bar, "fp", None) in streams
        for bar in list(getattr(cls, "_instances", ()))
    )


# -- the interpreter -------------------------------------------------------------------------------


def interpreter_exiting() -> bool:
    """Whether the program has ended (atexit handlers run, or the interpreter finalizes).

    ``threading._shutdown`` marks the main thread stopped before the atexit handlers run, when
    threading was imported by then (any program that imported vhtqdm). When it was not (vhtqdm
    first imported by an atexit handler), the main thread's stack tells: an atexit handler is
    called from C with nothing below it, where the program's code runs under a ``<module>``
    frame (or runpy's, for ``python -m``).
    """
    if sys.is_finalizing() or not threading.main_thread().is_alive():
        return True
    if threading.current_thread() is not threading.main_thread():
        return False
    frame = sys._getframe()
    while frame.f_back is not None:
        frame = frame.f_back
    return frame.f_code.co_name not in ("<module>", "_run_module_as_main")


def waiting_for_import() -> bool:
    """Whether this thread is in importlib's wait for a module lock (CPython 3.9-3.11), as a
    signal handler that interrupted an import is. An import made there removes the interrupted
    one's entry in ``_blocking_on`` and that import fails with a KeyError; 3.12 made the
    bookkeeping re-entrant."""
    if sys.version_info >= (3, 12):
        return False
    blocking = getattr(sys.modules.get("_frozen_importlib"), "_blocking_on", None)
    return isinstance(blocking, dict) and threading.get_ident() in blocking


def keep_sigint_exit() -> None:
    """Let an uncaught Ctrl-C still end the process by SIGINT (exit code 130), as without us.

    CPython notes "ended by an uncaught KeyboardInterrupt" in a runtime flag that any later
    ``exec`` of a string clears (namedtuple and dataclass creation do that, so an import at exit
    turns 130 into 1); only the same function sets it again, when the code it runs raises
    KeyboardInterrupt. CPython only: other interpreters have no such flag.
    """
    if sys.implementation.name == "cpython":
        with contextlib.suppress(KeyboardInterrupt):
            exec("raise KeyboardInterrupt")


def green_threads() -> bool:
    """Whether gevent or eventlet has made ``threading`` cooperative in this process."""
    gevent = sys.modules.get("gevent.monkey")
    if gevent is not None:
        with contextlib.suppress(Exception):
            if gevent.is_module_patched("threading"):
                return True
    eventlet = sys.modules.get("eventlet.patcher")
    if eventlet is not None:
        with contextlib.suppress(Exception):
            if eventlet.is_monkey_patched("thread"):
                return True
    return False


# -- a framework's module global -----------------------------------------------------------------

_swap_lock = threading.RLock()
_swaps: dict[tuple[int, str], tuple[object, int]] = {}  # (module, name) -> (original, holders)


@contextlib.contextmanager
def swapped(module: ModuleType, name: str, value: object) -> Iterator[None]:
    """Within the block, ``module.name`` is ``value`` (how an adapter has a framework's own code
    build vhtqdm's bar). Thread-safe: the first thread in swaps, the last one out restores, so
    two threads interleaving never leave the wrong object in place."""
    key = (id(module), name)
    with _swap_lock:
        original, holders = _swaps.get(key, (getattr(module, name), 0))
        _swaps[key] = (original, holders + 1)
        setattr(module, name, value)
    try:
        yield
    finally:
        with _swap_lock:
            original, holders = _swaps[key]
            if holders == 1:
                del _swaps[key]
                setattr(module, name, original)
            else:
                _swaps[key] = (original, holders - 1)


# -- http.client under urllib3 --------------------------------------------------------------------
# requests and urllib3 bound the connect and each read, not the whole request: a server that
# trickles a byte every few seconds keeps a request alive indefinitely (urllib3's `total` only
# shortens each read). No library offers more, so the answer's socket reads share one deadline:
# http.client reads the answer through ``self.sock.makefile("rb")``, which a proxy socket gives.

_bound = threading.local()  # .deadline: time.monotonic() by which the current request must end


def set_deadline(deadline: float | None) -> None:
    """The deadline of the requests this thread makes from now on (None: none)."""
    _bound.deadline = deadline


class _DeadlineSocket:
    """A socket proxy for one answer: every read waits at most until the request's deadline."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("the request's total time bound passed")
        current = self._sock.gettimeout()
        self._sock.settimeout(remaining if current is None else min(current, remaining))
        return self._sock.recv_into(buffer, nbytes, flags)

    def makefile(self, *args: Any, **kwargs: Any) -> io.BufferedReader:
        """A binary reader over this proxy (http.client only ever asks for ``"rb"``); counted in
        the socket's ``_io_refs`` as ``socket.makefile`` counts it, so closing stays balanced."""
        self._sock._io_refs += 1  # type: ignore[attr-defined]
        return io.BufferedReader(socket.SocketIO(self, "rb"))  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)  # a socket proxy: everything else is the socket's


def _socket_counts_io_refs() -> bool:
    """CPython's ``socket.socket`` counts its open files in ``_io_refs`` (checked once)."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        return isinstance(getattr(s, "_io_refs", None), int)
    return False


def bounded_connection(cls: type) -> type:
    """A subclass of urllib3 connection class ``cls`` whose answers are read within the
    deadline ``set_deadline`` gave, and that never prints a request (``http.client``'s
    ``debuglevel``, which requests' debugging recipe sets class-wide, shows the token)."""
    io_refs = _socket_counts_io_refs()

    class Bounded(cls):  # type: ignore[misc]
        @property
        def debuglevel(self) -> int:
            return 0

        @debuglevel.setter
        def debuglevel(self, value: int) -> None:
            pass  # never print the request: it carries the token

        def getresponse(self) -> Any:
            deadline = getattr(_bound, "deadline", None)
            sock: Any = getattr(self, "sock", None)
            if deadline is None or not io_refs or not isinstance(sock, socket.socket):
                # (TLS inside a TLS proxy is urllib3's SSLTransport: left to the per-read bound.)
                return super().getresponse()
            proxy: Any = _DeadlineSocket(sock, deadline)
            self.sock = proxy
            try:
                return super().getresponse()
            finally:
                if self.sock is proxy:  # http.client sets None when it closes (``will_close``)
                    self.sock = sock

    Bounded.__name__ = Bounded.__qualname__ = f"Bounded{cls.__name__}"
    return Bounded

"""SIGTERM, how platforms stop a job: say "Stopped at train 412/1875", then die of SIGTERM.

Python runs a signal handler on the main thread between two bytecodes, so a handler alone does
nothing while the main thread is inside a long C call (a kernel, a compression, a hash). But the
C-level handler that CPython installs for a Python-handled signal also writes the signal number
to the ``signal.set_wakeup_fd`` descriptor, at once, whatever the main thread does. A small
daemon thread blocks reading that pipe; on SIGTERM it settles the bars, flushes the final status
within the flush timeout, restores the default disposition and raises SIGTERM again, so that the
process ends exactly as SIGTERM ends it (wait status -15, exit code 143 in a shell).

Restoring ``SIG_DFL`` from a thread that is not the main thread: ``signal.signal`` refuses
(ValueError), so the C library's ``signal()`` is called through ctypes. CPython's own table still
names the Python handler, which no longer matters: the very next step kills the process. Without
ctypes the thread ends the process with ``os._exit(143)``, the code a shell shows for SIGTERM.

Left alone: a program with its own SIGTERM handler (installed before vhtqdm: nothing is
installed; after: the thread sees the handler is no longer ours and ignores the signal), a
wakeup descriptor someone else set (asyncio: it is kept, and only the Python-level handler wakes
the thread, once the main thread runs bytecode again), forked children (reset after fork),
``VHTQDM_SIGTERM=0``, and any process where the first bar does not start on the main thread.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Mapping
from types import FrameType
from typing import TYPE_CHECKING

from . import _log, _process

if TYPE_CHECKING:
    from ._mirror import Mirror

_OFF = ("0", "false", "no", "off")
_ON = ("", "1", "true", "yes", "on")

_read_fd = -1
_write_fd = -1
_stopping = False
_fork_hooked = False


def wanted(environ: Mapping[str, str]) -> bool:
    """``VHTQDM_SIGTERM``: on unless ``0``/``false``/``no``/``off`` (bad values warn, stay on)."""
    raw = environ.get("VHTQDM_SIGTERM", "").strip().lower()
    if raw in _OFF:
        return False
    if raw not in _ON:
        _log.warn_once("env:VHTQDM_SIGTERM", f"ignoring VHTQDM_SIGTERM={raw[:40]!r}: not 0 or 1")
    return True


def _handler(signum: int, frame: FrameType | None) -> None:
    """The Python-level handler: makes CPython's C handler write to the wakeup pipe, and wakes
    the thread itself once the main thread runs again (when the wakeup pipe is not ours)."""
    with contextlib.suppress(OSError):
        os.write(_write_fd, bytes((signal.SIGTERM,)))


def install(environ: Mapping[str, str]) -> None:
    """Show SIGTERM in the process's final status, unless the program handles SIGTERM itself."""
    global _read_fd, _write_fd, _fork_hooked
    if _read_fd >= 0 or not wanted(environ):
        return
    if threading.current_thread() is not threading.main_thread():
        return  # signal.signal works only there
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return  # the program's own handler (or SIG_IGN, or one set from C) stays in charge
    read_fd, write_fd = os.pipe()
    ours = False
    try:
        os.set_blocking(write_fd, False)  # the C handler must never block
        previous = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
        ours = previous == -1
        if not ours:
            signal.set_wakeup_fd(previous)  # someone else's (asyncio): keep it
        _read_fd, _write_fd = read_fd, write_fd
        thread = threading.Thread(
            target=_watch, args=(read_fd,), name="vhtqdm-sigterm", daemon=True
        )
        thread.start()
        signal.signal(signal.SIGTERM, _handler)
    except (OSError, ValueError, RuntimeError):
        if ours:
            signal.set_wakeup_fd(-1)
        _close(read_fd, write_fd)  # a started thread sees EOF or EBADF and returns
        _read_fd = _write_fd = -1
        return
    if not _fork_hooked:
        os.register_at_fork(after_in_child=_after_fork_in_child)
        _fork_hooked = True


def _watch(read_fd: int) -> None:
    """The thread: wait for SIGTERM's byte (other Python-handled signals write theirs too)."""
    global _stopping
    while True:
        try:
            data = os.read(read_fd, 64)
        except OSError:
            return
        if not data:
            return
        if signal.SIGTERM not in data or _stopping:
            continue
        if signal.getsignal(signal.SIGTERM) is not _handler:
            continue  # the program installed its own handler since: it decides
        _stopping = True
        try:
            _tell(_process._current)
        finally:
            _die()


def _tell(mirror: Mirror | None) -> None:
    """Settle the bars as stopped and deliver that status within the flush timeout."""
    if mirror is None or mirror.dead:
        return
    try:
        mirror.end(None, stopped=True)
        mirror.sender.flush(mirror.settings.flush_timeout)
        mirror.sender.shutdown()
    except Exception:
        pass


def _die() -> None:
    """End the process as SIGTERM's default action does, from this (non-main) thread."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.signal.restype = ctypes.c_void_p
        libc.signal.argtypes = (ctypes.c_int, ctypes.c_void_p)
        libc.signal(signal.SIGTERM, 0)  # 0 is SIG_DFL in every C library
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(1.0)  # delivery is immediate; this only guards against the unexpected
    except Exception:
        pass
    os._exit(128 + signal.SIGTERM)


def _after_fork_in_child() -> None:
    # A forked child is not the job: SIGTERM ends it as usual. No lock, no logging here; the
    # thread forking is the child's main thread, so signal.signal is allowed.
    global _read_fd, _write_fd, _stopping
    if _read_fd < 0:
        return
    try:
        if signal.getsignal(signal.SIGTERM) is _handler:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        previous = signal.set_wakeup_fd(-1)
        if previous not in (-1, _write_fd):
            signal.set_wakeup_fd(previous)
    except (OSError, ValueError):
        pass
    _close(_read_fd, _write_fd)
    _read_fd = _write_fd = -1
    _stopping = False


def _close(*fds: int) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)

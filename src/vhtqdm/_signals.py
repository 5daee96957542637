"""SIGTERM, how platforms stop a job: say "Stopped at train 412/1875", then die of SIGTERM.

Python runs a signal handler on the main thread between two bytecodes, so a handler alone does
nothing while the main thread is inside a long C call (a kernel, a compression, a hash). But the
C-level handler that CPython installs for a Python-handled signal also writes the signal number
to the ``signal.set_wakeup_fd`` descriptor, at once, whatever the main thread does. A small
daemon thread blocks reading that pipe; on SIGTERM it runs the process's callback (settle the
bars, flush the final status within the flush timeout), restores the default disposition and
raises SIGTERM again, so that the process ends exactly as SIGTERM ends it (wait status -15,
exit code 143 in a shell).

Restoring ``SIG_DFL`` from a thread that is not the main thread: ``signal.signal`` refuses
(ValueError), so the C library's ``signal()`` is called through ctypes. CPython's own table still
names the Python handler, which no longer matters: the very next step kills the process. Without
ctypes the thread ends the process with ``os._exit(143)``, the code a shell shows for SIGTERM.

Left alone: a program with its own SIGTERM handler (installed before vhtqdm: nothing is
installed; after: the thread sees the handler is no longer ours and ignores the signal), a
wakeup descriptor someone else set (asyncio's loop while it runs: kept; ours is set again once
it is gone, by ``rearm``), forked children (reset after fork), gevent and eventlet (whose green
threads a blocking read would freeze), ``VHTQDM_SIGTERM=0``, and a process whose first bar does
not start on the main thread.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from types import FrameType
from typing import Callable

from . import _threads, _tricks

_read_fd = -1
_write_fd = -1
_stopping = False  # SIGTERM came: the watcher is telling it and will end the process
_watcher: threading.Thread | None = None


def _handler(signum: int, frame: FrameType | None) -> None:
    """The Python-level handler: makes CPython's C handler write to the wakeup pipe, and wakes
    the thread itself once the main thread runs again (when the wakeup pipe is not ours)."""
    with contextlib.suppress(OSError):
        os.write(_write_fd, bytes((signal.SIGTERM,)))


def install(on_sigterm: Callable[[], None]) -> None:
    """Show SIGTERM in the process's final status (``on_sigterm`` tells it), unless the program
    handles SIGTERM itself. Idempotent; only on the main thread, where signals are handled."""
    global _read_fd, _write_fd, _watcher
    if _read_fd >= 0 or threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL or _tricks.green_threads():
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
        how, _watcher = _threads.start(_watch, "vhtqdm-sigterm", read_fd, on_sigterm)
        if _watcher is None:
            raise RuntimeError(how)  # no thread to tell it (tried again at the next bar)
        signal.signal(signal.SIGTERM, _handler)
    except (OSError, ValueError, RuntimeError):
        if ours:
            signal.set_wakeup_fd(-1)
        _close(read_fd, write_fd)  # a started thread sees EOF or EBADF and returns
        _read_fd = _write_fd = -1
        _watcher = None


def rearm() -> None:
    """Set the wakeup descriptor again if someone dropped it (closing an asyncio loop sets it to
    -1): without it, SIGTERM during a long C call waits for the call to return. On the main
    thread only (bars call it as they redraw, ``_process.bar_drawn`` says how often)."""
    if _write_fd < 0 or threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not _handler:
        return
    with contextlib.suppress(OSError, ValueError):
        previous = signal.set_wakeup_fd(_write_fd, warn_on_full_buffer=False)
        if previous not in (-1, _write_fd):
            signal.set_wakeup_fd(previous)  # a running loop's (asyncio): it stays while it runs


def finish(bound: float) -> None:
    """The process's exit hook is done. If SIGTERM came meanwhile, the process ends by it (after
    the watcher has told it, within ``bound`` + 1 s); otherwise a later SIGTERM kills at once."""
    watcher = _watcher
    if _stopping and watcher is not None:
        watcher.join(bound + 1.0)
        _die()
    if _read_fd >= 0 and threading.current_thread() is threading.main_thread():
        with contextlib.suppress(OSError, ValueError):
            if signal.getsignal(signal.SIGTERM) is _handler:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _watch(read_fd: int, on_sigterm: Callable[[], None]) -> None:
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
            on_sigterm()
        except Exception:
            pass
        finally:
            _die()


def _die() -> None:
    """End the process as SIGTERM's default action does, from any thread."""
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


def after_fork_in_child() -> None:
    """A forked child is not the job: SIGTERM ends it as usual. No lock, no logging here; the
    thread forking is the child's main thread, so ``signal.signal`` is allowed."""
    global _read_fd, _write_fd, _stopping, _watcher
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
    _watcher = None


def _close(*fds: int) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)

"""The process's one mirror: found on first use, flushed at exit, forgotten in a forked child.

Off Valohai this is all that ``import vhtqdm`` loads besides tqdm: the mirror, the composer and
the config parser (json, dataclasses, decimal) are imported only when the first bar or
``set_status`` looks for a config, so that importing vhtqdm costs next to nothing over tqdm;
requests only by the sender thread, at its first post.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import TYPE_CHECKING, Any

from . import _log

if TYPE_CHECKING:
    from ._mirror import Mirror

_current: Mirror | None = None
_resolved = False
_resolve_lock = threading.RLock()
_resolving = False  # True while this process resolves (under _resolve_lock)
_exit_hooked = False
forked = False  # this process is a forked child: it relays, and claims only after a grace period


def get() -> Mirror | None:
    """The process's mirror, resolving the configuration on first use; None when off.

    Another thread waits for a resolution in progress; a signal handler or a finalizer that
    interrupts it on its own thread (the RLock lets it in) gets None instead of waiting for
    itself forever.
    """
    global _resolving
    if _resolved:
        return _current
    with _resolve_lock:
        if _resolving:
            return None
        _resolving = True  # before the check: a nested call in between resolves, we then don't
        try:
            if not _resolved:
                _resolve()
        finally:
            _resolving = False
    return _current


def _resolve() -> None:
    global _current, _resolved
    try:
        _current = _activate(os.environ)
    except Exception as exc:  # never let setup trouble reach the user's loop
        _log.warn_once("config", f"status mirroring is off ({type(exc).__name__})")
        _current = None
    _resolved = True


def _activate(environ: Any) -> Mirror | None:
    global _exit_hooked
    from ._config import ConfigError, disabled_reason, load_endpoint, settings_from_env

    if disabled_reason(environ) is not None:
        return None  # opted out: stay plain tqdm
    try:
        endpoint = load_endpoint(environ)
    except ConfigError as exc:
        _log.warn_once("config", f"{exc}; status mirroring is off, progress bars work as usual")
        return None
    if endpoint is None:
        return None  # not on Valohai: silent
    _log.set_secrets(endpoint.secrets())
    _log.guard_library_logs()
    settings, problems = settings_from_env(environ)
    for problem in problems:
        _log.warn_once(f"env:{problem}", problem)
    # Only ever on Valohai: the record and its composer, the sender. Imported here, on the user's
    # thread, never later from a finalizer; requests is imported by the sender thread, at its
    # first post (LazyTransport), so the first bar costs about what tqdm's does.
    from . import _signals
    from ._mirror import Mirror
    from ._relay import Speaker
    from ._sender import LazyTransport

    mirror = Mirror(endpoint, settings, LazyTransport(endpoint))
    _signals.install(environ)  # SIGTERM shows "Stopped at …" (VHTQDM_SIGTERM=0: not)
    # One process of the execution posts; the others (ranks, workers, subprocesses) relay to it.
    mirror.sender = Speaker(mirror, mirror.sender, endpoint.url, environ)  # type: ignore[assignment]
    if _exiting():
        # The first bar runs in an atexit handler: no exit hook will run after it, and no thread
        # may start (3.12): each bar's close is delivered as it happens, within the flush bound.
        mirror.sender.at_exit(settings.flush_timeout)
    elif not _exit_hooked:
        atexit.register(_at_exit)
        _exit_hooked = True
    return mirror


def spawned_worker() -> bool:
    """Whether multiprocessing started this process (spawn/forkserver), without importing it.

    Such a worker imported multiprocessing before any user code; importing it here could meet it
    half-imported (a signal handler's first ``set_status`` inside the main thread's import).
    """
    parent_process = getattr(sys.modules.get("multiprocessing"), "parent_process", None)
    return parent_process is not None and parent_process() is not None


def _exiting() -> bool:
    """Whether the interpreter is past the end of the program (atexit handlers, finalization).

    ``threading._shutdown`` marks the main thread stopped before the atexit handlers run, when
    threading was imported by then. Otherwise: an atexit handler is called from C with nothing
    below it on the main thread's stack, where the program's code runs under a ``<module>``
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


def _uncaught_error() -> BaseException | None:
    """The exception that is ending the program, if any (set before atexit handlers run)."""
    if hasattr(sys, "ps1") or "ipykernel" in sys.modules:
        return None  # interactive: last_value belongs to some earlier, already-handled error
    error = getattr(sys, "last_exc", None) or getattr(sys, "last_value", None)
    return error if isinstance(error, BaseException) else None


def _at_exit() -> None:
    mirror = _current
    if mirror is None or mirror.dead:
        return
    delivered = False
    try:
        error = _uncaught_error()
        mirror.end(error)
        delivered = mirror.sender.flush(mirror.settings.flush_timeout)
        if isinstance(error, KeyboardInterrupt):
            _keep_sigint_exit()
    except Exception:
        pass
    finally:
        if delivered:  # bars of atexit handlers that run after this one: each at its close
            mirror.sender.at_exit(mirror.settings.flush_timeout)
        else:  # the server did not take the final status: exit is not delayed any further
            mirror.sender.shutdown()


def _keep_sigint_exit() -> None:
    """Let an uncaught Ctrl-C still end the process by SIGINT (exit code 130), as without us.

    CPython notes "ended by an uncaught KeyboardInterrupt" in a runtime flag that any later
    ``exec`` of a string clears (``run_eval_code_obj``): namedtuple and dataclass creation do that,
    so the sender thread importing requests during exit turns 130 into 1. Only the same function
    sets it again, when the code it runs raises KeyboardInterrupt: that is what this does.
    """
    import contextlib

    with contextlib.suppress(KeyboardInterrupt):
        exec("raise KeyboardInterrupt")


def _after_fork_in_child() -> None:
    # A forked child (DataLoader worker, multiprocessing) never uses the parent's mirror: its own
    # first bar resolves afresh and relays to the process that posts (_relay). Only plain
    # assignments here: no logging, no lock acquired (one may be held forever).
    global _current, _resolved, _resolve_lock, _resolving, forked
    if _current is not None:
        _current.dead = True
    _current = None
    _resolved = False
    forked = True
    _resolve_lock = threading.RLock()
    _resolving = False


os.register_at_fork(after_in_child=_after_fork_in_child)


def set_status(text: str | None, color: str | None = None) -> None:
    """Show a milestone line above the bars (alone when none runs); None clears it."""
    try:
        mirror = get()
        if mirror is not None:
            mirror.set_milestone(text, color)
    except Exception:
        pass


def flush(timeout: float | None = None) -> bool:
    """Send the newest status now; wait at most ``timeout`` s (default ``VHTQDM_FLUSH_TIMEOUT``).

    Returns True when everything was delivered (or mirroring is off), False otherwise.
    """
    mirror = _current if _resolved else get()
    if mirror is None or mirror.dead:
        return True
    try:
        wait = mirror.settings.flush_timeout if timeout is None else max(float(timeout), 0.0)
        return mirror.sender.flush(wait)
    except Exception:
        return False


def reset() -> None:
    """Forget the process's mirror and its claims (tests; the next bar resolves the
    configuration again, and another process may post to the executions it mirrored)."""
    from . import _claim

    global _current, _resolved
    if _current is not None:
        _current.sender.shutdown()
        _current.dead = True
    _current = None
    _resolved = False
    _log.reset()
    _claim.forget()

"""The process: the one place that builds and wires the parts, and runs them at exit and fork.

The first bar (or ``set_status``) looks for a Valohai config. When one is found this module
builds, once per process::

    Mirror (record + metrics + composer)  ◀── bars write into it
      └─ Sender (one thread, throttle) ──▶ Router: Poster ──▶ Transport ──▶ Valohai
                                                   or Relay ──▶ the poster's socket

and installs the exit hook (the final status, within ``VHTQDM_FLUSH_TIMEOUT``), the SIGTERM
watch (``_signals``) and one after-fork hook. With ``VHTQDM_ALERT_URL`` set it also builds the
alerts (``_alerts``: their own sender, fed by what each status is made of), also off Valohai,
where the status is then composed for them and posted nowhere (``_alerts.Unposted``).
Off Valohai this module (and ``_tricks``, which it asks whether it may import) is all that
``import vhtqdm`` loads besides the bar: the rest (json, dataclasses, requests…) loads only
when a config is found, so that importing vhtqdm costs next to nothing over tqdm; requests only
on the sender's thread, at its first send.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from . import _log, _tricks

if TYPE_CHECKING:
    from ._alerts import Alerts
    from ._mirror import Mirror
    from ._route import Router

_current: Mirror | None = None
_router: Router | None = None
_alerts: Alerts | None = None
_resolved = False
_resolve_lock = threading.RLock()
_resolving = False  # True while this process resolves (under _resolve_lock)
_exit_hooked = False
_forked = False  # this process is a forked child: it relays, and claims only after a grace
# Held while a thread of ours imports (the route's set-up): a fork waits for it (see _before_fork).
_importing = threading.Lock()
FORK_WAIT = 5.0  # seconds a fork waits at most for that import to end
# Redraws check SIGTERM's wakeup descriptor after a pause of this many seconds, and at least
# every REARM_EVERY seconds (bar_drawn).
REDRAW_PAUSE = 0.005
REARM_EVERY = 1.0
_drawn_at = _rearm_due = -1e9
# A set-up that fails unexpectedly (an import that met a module half imported by the code a
# signal handler interrupted, as CPython 3.9 allows) is tried once more this many seconds later.
SETUP_RETRY = 1.0
_setup_failed_at: float | None = None


def get() -> Mirror | None:
    """The process's mirror, resolving the configuration on first use; None when off.

    Another thread waits for a resolution in progress; a signal handler or a finalizer that
    interrupts it on its own thread (the RLock lets it in) gets None instead of waiting for
    itself forever.
    """
    global _resolving
    if _resolved:
        return _current
    if _setup_failed_at is not None and time.monotonic() - _setup_failed_at < SETUP_RETRY:
        return None  # the set-up failed a moment ago: plain tqdm until its second try
    if _tricks.waiting_for_import():
        return None  # a signal handler inside an import's wait: resolving imports; next time
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
    global _current, _resolved, _setup_failed_at
    try:
        _current = _build(os.environ)
    except Exception as exc:  # never let setup trouble reach the user's loop
        _current = None
        if _setup_failed_at is None:
            _setup_failed_at = time.monotonic()  # once more, later (SETUP_RETRY)
            return
        _log.warn_once("config", f"status mirroring is off ({type(exc).__name__})")
    _resolved = True


def _build(environ: Any) -> Mirror | None:
    """Read the settings and the config; build the parts and wire them (None: not mirroring)."""
    global _router
    from ._config import ConfigError, load_endpoint, read_settings

    settings, problems = read_settings(environ)
    if settings.disabled:
        return None  # opted out: stay plain tqdm, silently
    try:
        endpoint = load_endpoint(environ)
    except ConfigError as exc:
        _log.warn_once("config", f"{exc}; status mirroring is off, progress bars work as usual")
        return None
    if endpoint is None and not settings.alert_url:
        return None  # not on Valohai: silent
    from . import _threads

    if not _threads.allowed():
        # An isolated subinterpreter: no thread could ever send, and the senders' imports
        # (hashlib, requests) crash some CPython 3.12 builds as it is destroyed. Plain tqdm.
        _log.info_once("threads", "no daemon threads in this interpreter: status mirroring is off")
        return None
    secrets = endpoint.secrets() if endpoint is not None else []
    if settings.alert_url:
        from ._webhooks import url_secrets

        secrets += url_secrets(settings.alert_url)
    _log.set_secrets(secrets)
    _log.guard_library_logs()
    for problem in problems:
        _log.warn_once(f"env:{problem}", problem)
    # On Valohai, or with alerts: the record and its composer, the sender. Imported here, on the
    # user's thread, never later from a finalizer; requests is imported by the senders' threads.
    from ._mirror import Mirror
    from ._sender import Sender

    mirror: Mirror  # built below, around the sender the router drives: the lambdas read it late
    alerts = None
    if settings.alert_url and not _secondary(environ, on_valohai=endpoint is not None):
        from ._alerts import build

        api_url = endpoint.url if endpoint is not None else None
        alerts = build(settings, environ, api_url, lambda: mirror.record, _importing)
    if endpoint is None:
        if alerts is None:
            return None
        from dataclasses import replace

        from ._alerts import Unposted

        # Off Valohai the bars draw as tqdm's (no log mode, no metadata lines): only alerts.
        settings = replace(settings, log_interval=0.0, metadata=False)
        nowhere = Unposted(
            lambda: mirror.status(),  # noqa: PLW0108  # late-bound
            lambda: mirror.settings.status_interval,
        )
        mirror = Mirror(settings, Sender(nowhere, where="nowhere"))
        return _wire(mirror, alerts)
    from ._route import Router

    def transport() -> Any:  # on the sender's thread, when this process turns out to post
        from ._transport import Transport

        return Transport(endpoint).post

    router = Router(
        endpoint,
        environ,
        status=lambda peers: mirror.status(peers),  # noqa: PLW0108  # late-bound
        views=lambda: mirror.views(),  # noqa: PLW0108  # late-bound
        interval=lambda: mirror.settings.status_interval,
        transport=transport,
        changed=lambda: sender.submit(urgent=False),
        child=_forked or spawned_worker(),
        guard=_importing,
    )
    sender = Sender(router, where=endpoint.host)
    mirror = Mirror(settings, sender)
    _router = router
    return _wire(mirror, alerts)


def _secondary(environ: Any, on_valohai: bool) -> bool:
    """Whether this process never alerts: a rank but the first; off Valohai also a forked or
    spawned child (on Valohai whichever process posts the status alerts: events come with it)."""
    from ._ranks import secondary

    child = not on_valohai and (_forked or spawned_worker())
    return child or secondary(environ) is not None


def _wire(mirror: Mirror, alerts: Alerts | None) -> Mirror:
    """Hook the process's mirror up: its alerts, SIGTERM's watch, the exit hook."""
    global _exit_hooked, _alerts
    settings, sender = mirror.settings, mirror.sender
    if alerts is not None:
        mirror.observe = alerts.observe
    _alerts = alerts
    if settings.sigterm:
        install_sigterm()
    if _tricks.interpreter_exiting():
        # The first bar runs in an atexit handler: no exit hook will run after it, and no thread
        # may start (3.12): each bar's close is delivered as it happens, within the flush bound.
        sender.at_exit(settings.flush_timeout)
    elif not _exit_hooked:
        atexit.register(_at_exit)
        _exit_hooked = True
    return mirror


def install_sigterm() -> None:
    """Show SIGTERM as ``Stopped at …`` (on the main thread; again at each bar until it holds)."""
    from . import _signals

    _signals.install(_stopped_by_sigterm)


def bar_started(mirror: Mirror) -> None:
    """A mirrored bar started (on its thread): SIGTERM's watch is in place when it can be."""
    if mirror.settings.sigterm:
        install_sigterm()


def bar_drawn(mirror: Mirror) -> None:
    """A mirrored bar redraws (often: keep it cheap). A sender thread that could not start is
    tried again, and SIGTERM's wakeup descriptor set again if asyncio dropped it: at a redraw
    that follows a pause (an asyncio loop may have run and closed meanwhile), and once a second
    while a bar redraws every step, which paid a fifth more than tqdm when every redraw asked
    (``rearm`` is a few microseconds)."""
    global _drawn_at, _rearm_due
    sender = mirror.sender
    if sender.start_pending:
        sender.retry_start()
    if mirror.settings.sigterm:
        now = time.monotonic()
        if now - _drawn_at > REDRAW_PAUSE or now >= _rearm_due:
            _rearm_due = now + REARM_EVERY
            from . import _signals

            _signals.rearm()
        _drawn_at = now


def _stopped_by_sigterm() -> None:
    """SIGTERM came (on the watcher's thread): the final status says so, within the bound."""
    mirror, alerts = _current, _alerts
    if mirror is None or mirror.dead:
        return
    mirror.end(None, stopped=True)
    if alerts is not None:
        alerts.ending(mirror.settings.flush_timeout)  # told while the status goes out
    mirror.sender.flush(mirror.settings.flush_timeout)
    if alerts is not None:
        alerts.flush()  # within what is left of the same bound
    mirror.sender.shutdown()


def spawned_worker() -> bool:
    """Whether multiprocessing started this process (spawn/forkserver), without importing it.

    Such a worker imported multiprocessing before any user code; importing it here could meet it
    half-imported (a signal handler's first ``set_status`` inside the main thread's import).
    """
    parent_process = getattr(sys.modules.get("multiprocessing"), "parent_process", None)
    return parent_process is not None and parent_process() is not None


def _uncaught_error() -> BaseException | None:
    """The exception that is ending the program, if any (set before atexit handlers run)."""
    if hasattr(sys, "ps1") or "ipykernel" in sys.modules:
        return None  # interactive: last_value belongs to some earlier, already-handled error
    error = getattr(sys, "last_exc", None) or getattr(sys, "last_value", None)
    return error if isinstance(error, BaseException) else None


def _at_exit() -> None:
    mirror, router, alerts = _current, _router, _alerts
    if mirror is None or mirror.off:
        return
    from . import _signals

    bound = mirror.settings.flush_timeout
    delivered = False
    try:
        error = _uncaught_error()
        mirror.end(error)
        if alerts is not None:
            alerts.ending(bound)  # the run's last word is told while the final status goes out
        mirror.metadata.at_exit()
        started = time.monotonic()
        if router is not None:
            router.claim_now()
            router.await_peers(bound * 0.75)  # the other ranks' last word, within the bound
        delivered = mirror.sender.flush(max(bound - (time.monotonic() - started), 0.5))
        if alerts is not None:
            alerts.flush()  # within what is left of the same bound
        if isinstance(error, KeyboardInterrupt):
            _tricks.keep_sigint_exit()
    except Exception:
        pass
    finally:
        if alerts is not None:
            alerts.close()
        if delivered:  # bars of atexit handlers that run after this one: each at its close
            mirror.sender.at_exit(bound)
        else:  # the server did not take the final status: exit is not delayed any further
            mirror.sender.shutdown()
            if router is not None:
                router.close()
        _signals.finish(bound)


_held_for_fork: list[Any] = []  # the locks _before_fork took, released after the fork


def _before_fork() -> None:
    """A fork waits (boundedly) until no thread of ours is importing or writing, and keeps them
    from starting until it is done: the child would inherit an import lock (or tqdm's and
    logging's) held by a thread it does not have, and hang at its first import."""
    for lock in (_importing, _log.output):
        if lock.acquire(timeout=FORK_WAIT):
            _held_for_fork.append(lock)


def _after_fork_in_parent() -> None:
    while _held_for_fork:
        _held_for_fork.pop().release()


def _after_fork_in_child() -> None:
    """A forked child (DataLoader worker, multiprocessing) never uses the parent's mirror: its
    own first bar resolves afresh and relays to the process that posts. Only plain assignments
    and closes here, in a fixed order: no logging, no lock acquired (one may be held forever)."""
    global _current, _router, _alerts, _resolved, _resolve_lock, _resolving, _forked, _importing
    global _setup_failed_at
    from . import _claim

    _held_for_fork.clear()  # the child's own locks are new ones
    if _current is not None:
        _current.dead = True
    _current = _router = _alerts = None
    _resolved = False
    _setup_failed_at = None
    _forked = True
    _resolve_lock = threading.RLock()
    _resolving = False
    _importing = threading.Lock()
    _log.output = threading.RLock()
    _claim.forget()  # the parent keeps its claim (its own descriptors hold it)
    signals = sys.modules.get(f"{__package__}._signals")
    if signals is not None:
        signals.after_fork_in_child()


os.register_at_fork(
    before=_before_fork,
    after_in_parent=_after_fork_in_parent,
    after_in_child=_after_fork_in_child,
)


def set_status(text: str | None, color: str | None = None) -> None:
    """Show a milestone line above the bars (alone when none runs); None clears it."""
    try:
        mirror = get()
        if mirror is not None:
            mirror.set_milestone(text, color)
    except Exception:
        pass


def flush(timeout: float | None = None) -> bool:
    """Send the newest status (and the alerts waiting) now; wait at most ``timeout`` s (default
    ``VHTQDM_FLUSH_TIMEOUT``) in all.

    Returns True when everything was delivered (or mirroring is off), False otherwise.
    """
    mirror = _current if _resolved else get()
    router, alerts = _router, _alerts
    if mirror is None or mirror.dead:
        return True
    try:
        wait = mirror.settings.flush_timeout if timeout is None else max(float(timeout), 0.0)
        if router is not None:
            router.claim_now()
        if alerts is None:
            return mirror.sender.flush(wait)
        deadline = time.monotonic() + wait
        delivered = mirror.sender.flush(wait)
        return alerts.flush(max(deadline - time.monotonic(), 0.0)) and delivered
    except Exception:
        return False


def alert(text: str, level: str = "info") -> None:
    """Tell ``text`` to the alerts' webhook (``VHTQDM_ALERT_URL``) now, from the background;
    ``level`` is ``info``, ``warn`` or ``error``. Never waits; nothing without the variable."""
    try:
        get()
        alerts = _alerts
        if alerts is not None:
            alerts.say(text, level)
    except Exception:
        pass


def reset() -> None:
    """Forget the process's mirror and end its claim (tests: the next bar resolves the
    configuration again, and another process may post to the executions it mirrored)."""
    global _current, _router, _alerts, _resolved
    if _current is not None:
        _current.sender.shutdown()
        _current.dead = True
    if _router is not None:
        _router.close(wait=2.0)
    if _alerts is not None:
        _alerts.close()
    _current = _router = _alerts = None
    _resolved = False
    _log.reset()

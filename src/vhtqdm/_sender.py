"""One background thread that posts the newest status when the throttle allows: lifecycle only.

Shaped after Sentry's ``BackgroundWorker``: a small vocabulary (``submit``, ``flush(timeout)``,
``shutdown``), a daemon thread started lazily on the first submit, and nothing on the caller's
side that waits for the thread. When to post is ``_throttle.Throttle``'s decision; how is
``_transport``'s (imported and built on the sender thread, so a bar's constructor never pays
for requests).

The caller's side takes no lock it could already hold: ``submit`` and ``flush`` run from signal
handlers and ``__del__`` (tqdm bars live in reference cycles, finalized by the GC at any point of
any thread), where waiting on a lock held by the interrupted code deadlocks forever. They only put
messages into a ``queue.SimpleQueue``, whose ``put`` is documented reentrant ("can be called from
signal handlers and ``__del__`` methods") and never blocks; a flush then waits on a lock of its
own, with a timeout (``_Flush``). All state below belongs to whoever holds ``_cycling``: the
thread, or a caller posting inline when no thread can run (at interpreter exit).

The sender does not queue statuses. A submit only says "something changed"; when a post is
allowed the thread calls ``compose()`` and sends what it returns, so the newest state always wins
and a stale status is never sent (nor retried: a retry composes afresh).
"""

from __future__ import annotations

import contextlib
import queue
import sys
import threading
import time
from typing import TYPE_CHECKING, Callable, Union

from . import _log
from ._throttle import DROP, OK, RETRY, STOP, Throttle

if TYPE_CHECKING:
    from ._config import Endpoint
    from ._transport import Result, Transport

#: ``compose()`` returns the status to post now and whether bars are running (keep ticking).
Compose = Callable[[], "tuple[str, bool]"]
#: ``post(text, timeout)``: one bounded request (``timeout`` may only shorten the transport's own
#: bound; ``inf`` leaves it as it is).
Post = Callable[[str, float], "Result"]

START_RETRY = 1.0  # seconds before a thread that could not start is tried again
MAX_WAIT = threading.TIMEOUT_MAX  # the longest wait the thread and a flush may ask for


class _Flush:
    """A caller waiting for delivery, its deadline, and the answer.

    The caller waits on a plain lock, which the answer releases: ``Lock.acquire(timeout=…)``
    keeps its deadline across signal handlers, while ``SimpleQueue.get(timeout=…)`` on CPython
    before 3.13 waits for ever once a handler returns after the deadline.
    """

    __slots__ = ("_answered", "deadline", "delivered", "second_chance")

    def __init__(self, deadline: float) -> None:
        self._answered = threading.Lock()
        self._answered.acquire()  # released by answer()
        self.delivered = False
        self.deadline = deadline
        self.second_chance = True  # one retry of a 500 (see Sender._keep_waiting)

    def answer(self, delivered: bool) -> None:
        """Tell the caller (once; only the thread that holds ``_cycling`` answers)."""
        if self._answered.locked():
            self.delivered = delivered
            self._answered.release()

    def wait(self, timeout: float) -> bool:
        """The answer, or False when none came within ``timeout`` s."""
        return self._answered.acquire(timeout=timeout) and self.delivered


#: What the inbox carries: a change (True: urgent), a flush, or None (a wake-up to re-read flags).
_Message = Union[bool, _Flush, None]


class LazyTransport:
    """``Post`` that imports requests and builds the ``Transport`` at its first request.

    Called on the sender thread, so importing requests and urllib3 (~100 ms) is not paid in the
    user's first ``tqdm()``.
    """

    def __init__(self, endpoint: Endpoint) -> None:
        self._endpoint = endpoint
        self._transport: Transport | None = None

    def build(self) -> Transport:
        """The transport, imported and built on first use."""
        if self._transport is None:
            from ._transport import Transport

            self._transport = Transport(self._endpoint)
        return self._transport

    def __call__(self, text: str, timeout: float) -> Result:
        return self.build().post(text, timeout)


class Sender:
    """Posts ``compose()`` results when the throttle allows; see the module's docstring."""

    def __init__(self, post: Post, compose: Compose, interval: float, where: str) -> None:
        self._post = post
        self._compose = compose
        self._where = where  # safe host name for messages
        self._throttle = Throttle(interval, time.monotonic())
        self._inbox: queue.SimpleQueue[_Message] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._starting = threading.Lock()  # only ever tried without blocking
        self._start_after = float("-inf")  # a thread that failed to start is retried from then
        self._cycling = threading.Lock()  # whoever holds it owns the state below
        self._cycler: int | None = None  # the thread holding _cycling
        self._stopped = False  # the token was refused, or shutdown(): never post again
        self._inline: float | None = None  # at exit: deliver on the caller's thread, this bound
        # Owned by the holder of _cycling:
        self._dirty = False
        self._urgent = False
        self._ticking = False
        self._flushes: list[_Flush] = []
        self._last_sent = ""  # the latest status the server shows (at first: none, "")
        self._last_refused: str | None = None
        self._failing = False  # the latest request failed (a success then is "recovered")

    @property
    def interval(self) -> float:
        """Seconds between two regular posts."""
        return self._throttle.interval

    @interval.setter
    def interval(self, seconds: float) -> None:
        self._throttle.interval = seconds

    # -- what the mirror and the process call ---------------------------------------------------

    def submit(self, urgent: bool = False) -> None:
        """Something changed: post the newest status when the throttle allows. Never blocks.

        At exit (``at_exit``) an urgent change is delivered here, within the flush bound.
        """
        if self._stopped:
            return
        self._inbox.put(urgent)
        bound = self._inline
        if bound is not None:
            if urgent and not self._deliver_inline(time.monotonic() + bound):
                self.shutdown()  # at exit, one failed delivery is enough waiting
        else:
            self._ensure_thread()

    def poke(self, urgent: bool = False) -> None:
        """Like ``submit`` from a finalizer: wakes the thread at once, starts none.

        (Starting a thread takes threading's own locks, which the collected code may hold.)
        """
        if not self._stopped:
            self._inbox.put(urgent)

    def flush(self, timeout: float) -> bool:
        """Deliver the newest status now, waiting at most ``timeout`` s. True if nothing is left.

        A retryable failure (503, a reset connection…) is tried again within the time left,
        after short pauses (0.25 s, 0.5 s, 1 s …) that never hammer a failing server.
        """
        if self._stopped:
            return False
        wait = min(max(timeout, 0.0), MAX_WAIT)
        deadline = time.monotonic() + wait
        if self._inline is None and self._ensure_thread():
            flush = _Flush(deadline)
            self._inbox.put(flush)
            return flush.wait(wait)
        return self._deliver_inline(deadline)

    def shutdown(self) -> None:
        """Stop the thread at its next wake-up; an in-flight request is abandoned, not awaited."""
        self._stopped = True
        self._inbox.put(None)

    def at_exit(self, bound: float) -> None:
        """The process is exiting: stop the thread; from now on an urgent change (a bar run by
        a later atexit handler) is delivered on the caller's thread, waiting at most ``bound``."""
        self._inline = bound
        self._inbox.put(None)

    # -- the thread -----------------------------------------------------------------------------

    def _ensure_thread(self) -> bool:
        """Start the thread unless it runs (exactly one per sender). True if it runs."""
        thread = self._thread
        if thread is not None and thread.is_alive():
            return True
        if self._stopped or time.monotonic() < self._start_after:
            return False
        # Not blocking: a nested call (a signal handler, a GC callback during Thread()) on the
        # thread that is starting it, or another thread doing so, leaves it to that one.
        if not self._starting.acquire(blocking=False):
            return False
        try:
            thread = self._thread
            if thread is not None and thread.is_alive():
                return True
            thread = threading.Thread(target=self._run, name="vhtqdm-sender", daemon=True)
            try:
                thread.start()
            except RuntimeError:  # a thread limit (passing), or the interpreter shutting down
                # At shutdown no thread will start again (a flush then posts inline).
                shutting_down = sys.is_finalizing() or not threading.main_thread().is_alive()
                self._start_after = (
                    float("inf") if shutting_down else time.monotonic() + START_RETRY
                )
                return False
            self._thread = thread
            return True
        finally:
            self._starting.release()

    def _run(self) -> None:
        if isinstance(self._post, LazyTransport):
            # At once, not at the first post: an exit soon after the first bar finds it ready.
            with contextlib.suppress(Exception):  # (the first post reports any trouble)
                self._post.build()
        with self._cycling:
            self._cycler = threading.get_ident()
            while not self._stopped and self._inline is None:
                now = time.monotonic()
                self._answer_expired(now)
                wait = self._throttle.delay(
                    now,
                    dirty=self._dirty,
                    urgent=self._urgent,
                    ticking=self._ticking,
                    flushing=bool(self._flushes),
                )
                if wait is None or wait > 0:
                    self._cycler = None
                    self._cycling.release()  # an inline delivery may run while we wait
                    try:
                        message = self._inbox.get(
                            timeout=None if wait is None else min(wait, MAX_WAIT)
                        )
                    except queue.Empty:
                        message = None
                    finally:
                        self._cycling.acquire()
                        self._cycler = threading.get_ident()
                    self._take(message)
                    self._drain()
                    continue
                self._cycle(float("inf"))
            for flush in self._flushes:
                flush.answer(False)
            self._flushes = []
            self._cycler = None

    def _take(self, message: _Message) -> None:
        if isinstance(message, _Flush):
            if not self._flushes:
                self._throttle.flush_began()
            self._flushes.append(message)
        elif message is not None:
            self._dirty = True
            self._urgent = self._urgent or message

    def _drain(self) -> None:
        while True:
            try:
                message = self._inbox.get_nowait()
            except queue.Empty:
                return
            self._take(message)

    def _answer_expired(self, now: float) -> None:
        """Flushes whose caller stopped waiting get their (unread) answer."""
        if any(f.deadline <= now for f in self._flushes):
            for flush in self._flushes:
                if flush.deadline <= now:
                    flush.answer(False)
            self._flushes = [f for f in self._flushes if f.deadline > now]

    def _deliver_inline(self, deadline: float) -> bool:
        """Post on the caller's thread (no thread can run), retrying within ``deadline``."""
        if self._cycler == threading.get_ident():
            return False  # a signal handler inside our own cycle: never wait on ourselves
        if not self._cycling.acquire(timeout=max(min(deadline - time.monotonic(), MAX_WAIT), 0)):
            return False
        self._cycler = threading.get_ident()
        try:
            self._drain()
            flush = _Flush(deadline)
            self._throttle.flush_began()
            self._flushes = [flush]
            while not self._stopped:
                now = time.monotonic()
                wait = self._throttle.delay(
                    now, dirty=True, urgent=True, ticking=False, flushing=True
                )
                if wait is None or now + wait >= deadline:
                    return False
                time.sleep(wait)
                kind = self._cycle(deadline)
                if not self._flushes:
                    return kind == OK
            return False
        finally:
            self._flushes = []
            self._cycler = None
            self._cycling.release()

    def _cycle(self, deadline: float) -> str:
        """Compose, post if it changed, and answer the flushes it served. Returns the kind."""
        now = time.monotonic()
        flushes, self._flushes = self._flushes, []
        self._throttle.start(now, urgent=self._urgent, flushing=bool(flushes))
        self._dirty = self._urgent = False
        try:
            kind, result = self._attempt(deadline)
        except Exception as exc:  # a bug here must not kill the thread silently forever
            _log.warn_once("internal", f"status composition failed ({type(exc).__name__})")
            kind, result = DROP, None
        now = time.monotonic()
        self._throttle.done(
            now, kind, result.retry_after if result else None, flushing=bool(flushes)
        )
        for flush in flushes:
            if self._keep_waiting(flush, kind, result, now):
                self._flushes.append(flush)
            else:
                flush.answer(kind == OK)
        return kind

    def _keep_waiting(self, flush: _Flush, kind: str, result: Result | None, now: float) -> bool:
        """Whether a flush tries again (after the throttle's pause) within its deadline.

        Retryable failures are retried. A 500 is not retryable in general (the same request
        usually fails the same way, and mid-run the next status comes soon anyway), but the
        status being flushed may be the last one the job ever sends: it gets one more try,
        still within the caller's bound.
        """
        if self._stopped or now + self._throttle.flush_pause >= flush.deadline:
            return False
        if kind == RETRY:
            return True
        if kind == DROP and result is not None and result.status == 500 and flush.second_chance:
            flush.second_chance = False
            self._last_refused = None
            self._dirty = True
            return True
        return False

    def _attempt(self, deadline: float) -> tuple[str, Result | None]:
        text, ticking = self._compose()
        self._ticking = ticking
        if text == self._last_sent:  # the server already shows it
            return OK, None
        if text == self._last_refused:  # refused as it is: it would be refused again
            return DROP, None
        result = self._post(text, max(deadline - time.monotonic(), 0.1))
        self._after(result, text)
        return result.kind, result

    def _after(self, result: Result, text: str) -> None:
        recovered = result.kind == OK and self._failing
        self._failing = result.kind != OK
        if result.kind == OK:
            self._last_sent = text
        elif result.kind == RETRY:
            self._dirty = True  # come back later with whatever is newest then
        elif result.kind == DROP:
            self._last_refused = text
        elif result.kind == STOP:
            self._stopped = True
        if recovered:
            _log.info_once("recovered", f"status updates to {self._where} recovered")
        elif result.kind == RETRY:
            _log.warn_once(
                "endpoint",
                f"status updates to {self._where} are failing ({result.detail}); "
                "the job is unaffected and vhtqdm keeps retrying quietly",
            )
        elif result.kind == DROP:
            _log.warn_once(
                "rejected",
                f"{self._where} refused a status update ({result.detail}); "
                "later updates will still be tried",
            )
        elif result.kind == STOP:
            _log.warn_once(
                "auth",
                f"{self._where} refused the status token ({result.detail}); "
                "mirroring is off for the rest of this process",
            )

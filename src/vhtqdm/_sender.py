"""One background thread that sends the newest word of the process when the throttle allows.

Shaped after Sentry's ``BackgroundWorker``: a small vocabulary (``submit``, ``flush(timeout)``,
``shutdown``), a daemon thread started lazily on the first submit, and nothing on the caller's
side that waits for the thread. What to send and where is the route's (``_route``: the status
posted to Valohai, or this process's bars relayed to the process that posts); when, the
throttle's (``_throttle``). The :class:`Outbox` applies both, given the time; the
:class:`Sender` only runs it on a thread.

The caller's side takes no lock it could already hold: ``submit`` and ``flush`` run from signal
handlers and ``__del__`` (tqdm bars live in reference cycles, finalized by the GC at any point of
any thread), where waiting on a lock held by the interrupted code deadlocks forever. They only put
messages into a ``queue.SimpleQueue``, whose ``put`` is documented reentrant ("can be called from
signal handlers and ``__del__`` methods") and never blocks; a flush then waits on a lock of its
own, with a timeout (``_Flush``). The outbox belongs to whoever holds ``_cycling``: the thread,
or a caller delivering inline when no thread can run (at interpreter exit).

Nothing is queued but notes: a submit only says "something changed"; when a send is allowed the
route composes the newest state, so a stale status is never sent (nor retried).
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from typing import Callable, Protocol, Union

from . import _log, _threads
from ._throttle import DROP, OK, REFUSED, RETRY, Result, Throttle

MAX_WAIT = threading.TIMEOUT_MAX  # the longest wait the thread and a flush may ask for
Clock = Callable[[], float]


class Route(Protocol):
    """Where the sender's words go (``_route``): what to send, how, how often."""

    @property
    def interval(self) -> float:
        """Seconds between two regular sends."""

    def backoff(self, failures: int) -> float:
        """Seconds before the next try after ``failures`` retryable failures in a row."""

    def prepare(self) -> None:
        """Heavy set-up, once, on the sender's thread before its first send (imports, roles)."""

    def compose(self) -> tuple[str, bool]:
        """The word to send now, and whether it changes by itself (bars run: keep ticking)."""

    def deliver(self, text: str, timeout: float) -> Result:
        """Send ``text`` within ``timeout`` seconds (``inf``: the route's own bound)."""


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
        self.second_chance = True  # one more try of a status refused with a 500

    def answer(self, delivered: bool) -> None:
        """Tell the caller (the first answer counts)."""
        if self._answered.locked():
            self.delivered = delivered
            with contextlib.suppress(RuntimeError):  # two answers at once: one release wins
                self._answered.release()

    @property
    def answered(self) -> bool:
        return not self._answered.locked()

    def wait(self, timeout: float) -> bool:
        """The answer, or False when none came within ``timeout``."""
        return self._answered.acquire(timeout=timeout) and self.delivered


#: What the inbox carries: a change (True: urgent), a flush, or None (a wake-up).
Message = Union[bool, _Flush, None]


class Outbox:
    """What is to be sent and who waits for it; decides with the throttle, given the time.

    No thread of its own and no clock but the one it is given: the sender runs it, and the tests
    drive it step by step (``tests/test_sender.py``).
    """

    def __init__(self, route: Route, clock: Clock, where: str) -> None:
        self.route = route
        # Its interval is the route's, read at each delay; its backoff too.
        self.throttle = Throttle(1.0, clock(), backoff=route.backoff)
        self.refused = False  # the token was refused: nothing is sent again
        self._clock = clock
        self._where = where  # safe host name for messages
        self.dirty = False
        self.urgent = False
        self.ticking = False
        self.flushes: list[_Flush] = []
        self._last_sent = ""  # the latest word the other end has (at first: none, "")
        self._last_refused: tuple[str, int] | None = None  # (text, HTTP status) refused as it is
        self._failing = False  # the latest send failed (a success then is "recovered")

    def take(self, message: Message) -> None:
        """File one message of the inbox."""
        if isinstance(message, _Flush):
            if not self.flushes:
                self.throttle.flush_began()
            self.flushes.append(message)
        elif message is not None:
            self.dirty = True
            self.urgent = self.urgent or message

    def delay(self, now: float) -> float | None:
        """Seconds until the next send may go (0: now), or None when nothing asks for one.

        Flushes whose caller stopped waiting are answered first.
        """
        if any(f.deadline <= now for f in self.flushes):
            for flush in self.flushes:
                if flush.deadline <= now:
                    flush.answer(False)
            self.flushes = [f for f in self.flushes if f.deadline > now]
        self.throttle.interval = self.route.interval
        return self.throttle.delay(
            now, dirty=self.dirty, urgent=self.urgent, ticking=self.ticking,
            flushing=bool(self.flushes),
        )  # fmt: skip

    def cycle(self, deadline: float) -> str:
        """Compose, send if it changed, answer the flushes it served. Returns how it went."""
        flushes, self.flushes = self.flushes, []
        self.throttle.start(self._clock(), urgent=self.urgent, flushing=bool(flushes))
        self.dirty = self.urgent = False
        try:
            kind, result = self._attempt(deadline, flushes)
        except Exception as exc:  # a bug here must not kill the thread silently forever
            _log.warn_once("internal", f"status composition failed ({type(exc).__name__})")
            kind, result = DROP, None
        now = self._clock()
        retry_after = result.retry_after if result is not None else None
        self.throttle.done(now, kind, retry_after, flushing=bool(flushes))
        for flush in flushes:
            if self._keep_waiting(flush, kind, result, now):
                self.flushes.append(flush)
            else:
                flush.answer(kind == OK)
        return kind

    def close(self) -> None:
        """Nothing more will be sent: every caller still waiting hears so now."""
        for flush in self.flushes:
            flush.answer(False)
        self.flushes = []

    def _attempt(self, deadline: float, flushes: list[_Flush]) -> tuple[str, Result | None]:
        text, self.ticking = self.route.compose()
        if text == self._last_sent:  # the other end already has it
            return OK, None
        refused = self._last_refused
        if refused is not None and text == refused[0]:
            chances = [f for f in flushes if f.second_chance] if refused[1] == 500 else []
            if not chances:
                return DROP, None  # refused as it is: it would be refused again
            for flush in chances:  # a flushed status refused with a 500: one more try
                flush.second_chance = False
        result = self.route.deliver(text, max(deadline - self._clock(), 0.1))
        self._after(result, text)
        return result.kind, result

    def _keep_waiting(self, flush: _Flush, kind: str, result: Result | None, now: float) -> bool:
        """Whether a flush tries again (after the throttle's pause) within its deadline.

        Retryable failures are retried. A 500 is not retryable in general (the same request
        usually fails the same way, and mid-run the next status comes soon anyway), but the
        status being flushed may be the last one the job ever sends: it gets one more try,
        still within the caller's bound.
        """
        if self.refused or now + self.throttle.flush_pause >= flush.deadline:
            return False
        if kind == RETRY:
            return True
        if kind == DROP and result is not None and result.status == 500 and flush.second_chance:
            flush.second_chance = False
            self._last_refused = None
            self.dirty = True
            return True
        return False

    def _after(self, result: Result, text: str) -> None:
        recovered = result.kind == OK and self._failing
        self._failing = result.kind != OK
        if result.kind == OK:
            self._last_sent = text
        elif result.kind == RETRY:
            self.dirty = True  # come back later with whatever is newest then
        elif result.kind == DROP:
            self._last_refused = (text, result.status)
        elif result.kind == REFUSED:
            self.refused = True
        if not result.detail:  # a route that reports nothing (a relay's datagram)
            return
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
        elif result.kind == REFUSED:
            _log.warn_once(
                "auth",
                f"{self._where} refused the status token ({result.detail}); "
                "mirroring is off for the rest of this process",
            )


class Sender:
    """Runs an :class:`Outbox` on one daemon thread; see the module's docstring."""

    def __init__(
        self,
        route: Route,
        *,
        where: str,
        clock: Clock = time.monotonic,
        start_retry: float = _threads.RETRY,
        name: str = "vhtqdm-sender",
    ) -> None:
        self._route = route
        self._clock = clock
        self._start_retry = start_retry
        self._name = name
        self._box = Outbox(route, clock, where)
        self._inbox: queue.SimpleQueue[Message] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._starting = threading.Lock()  # only ever tried without blocking
        self._start_after = float("-inf")  # a thread that failed to start is retried from then
        self._cycling = threading.Lock()  # whoever holds it owns the outbox
        self._cycler: int | None = None  # the thread holding _cycling
        self._prepared = False
        self.closed = False  # shut down, or the token was refused: nothing is sent again
        self._inline: float | None = None  # at exit: deliver on the caller's thread, this bound

    @property
    def start_pending(self) -> bool:
        """A thread that could not start waits for its next try (``retry_start``)."""
        return self._start_after > float("-inf") and not self.closed

    # -- what the process calls -----------------------------------------------------------------

    def submit(self, urgent: bool = False) -> None:
        """Something changed: send the newest word when the throttle allows. Never blocks.

        At exit (``at_exit``) an urgent change is delivered here, within the flush bound.
        """
        if self.closed:
            return
        self._inbox.put(urgent)
        bound = self._inline
        if bound is not None:
            if urgent and not self._deliver_inline(self._clock() + bound):
                self.shutdown()  # at exit, one failed delivery is enough waiting
        else:
            self._ensure_thread()

    def poke(self, urgent: bool = False) -> None:
        """Like ``submit`` from a finalizer: wakes the thread at once, starts none.

        (Starting a thread takes threading's own locks, which the collected code may hold.)
        """
        if not self.closed:
            self._inbox.put(urgent)

    def retry_start(self) -> None:
        """Start the thread that could not start, once its pause is over (bars call this as they
        redraw, so live mirroring resumes while they run)."""
        if self._clock() >= self._start_after:
            self._ensure_thread()

    def flush(self, timeout: float) -> bool:
        """Deliver the newest word now, waiting at most ``timeout`` s. True if nothing is left.

        A retryable failure (503, a reset connection…) is tried again within the time left,
        after short pauses (0.25 s, 0.5 s, 1 s …) that never hammer a failing server.
        """
        if self.closed:
            return False
        wait = min(max(timeout, 0.0), MAX_WAIT)
        deadline = self._clock() + wait
        if self._inline is None and self._ensure_thread():
            flush = _Flush(deadline)
            self._inbox.put(flush)
            if self._ended():  # the thread may have ended before it could take it
                flush.answer(False)
            return flush.wait(wait)
        return self._deliver_inline(deadline)

    def _ended(self) -> bool:
        return self.closed

    def shutdown(self) -> None:
        """Stop the thread at its next wake-up; an in-flight request is abandoned, not awaited."""
        self.closed = True
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
        if self.closed or self._clock() < self._start_after:
            return False
        # Not blocking: a nested call (a signal handler, a GC callback during Thread()) on the
        # thread that is starting it, or another thread doing so, leaves it to that one.
        if not self._starting.acquire(blocking=False):
            return False
        try:
            thread = self._thread
            if thread is not None and thread.is_alive():
                return True
            how, thread = _threads.start(self._run, self._name)
            if thread is not None:
                self._thread = thread
                self._start_after = float("-inf")
                return True
            if how == _threads.NEVER:
                self._start_after = float("inf")  # a flush then delivers inline
            else:
                self._start_after = self._clock() + self._start_retry
            return False
        finally:
            self._starting.release()

    def _prepare(self) -> None:
        if not self._prepared:
            self._prepared = True
            self._route.prepare()

    def _run(self) -> None:
        with contextlib.suppress(Exception):  # (the first send reports any trouble)
            self._prepare()
        box = self._box
        with self._cycling:
            self._cycler = threading.get_ident()
            try:
                while not self.closed and self._inline is None:
                    self._drain()
                    wait = box.delay(self._clock())
                    if wait is None or wait > 0:
                        message = self._wait(wait)
                        box.take(message)
                        continue
                    box.cycle(float("inf"))
                    if box.refused:
                        self.closed = True
            finally:
                self._drain()  # flushes that came meanwhile are answered too
                if self.closed:
                    box.close()
                self._cycler = None

    def _wait(self, seconds: float | None) -> Message:
        """The next message, or None after ``seconds`` (None: until one comes); an inline
        delivery may run meanwhile."""
        self._cycler = None
        self._cycling.release()
        try:
            return self._inbox.get(timeout=None if seconds is None else min(seconds, MAX_WAIT))
        except queue.Empty:
            return None
        finally:
            self._cycling.acquire()
            self._cycler = threading.get_ident()

    def _drain(self) -> None:
        while True:
            try:
                message = self._inbox.get_nowait()
            except queue.Empty:
                return
            self._box.take(message)

    def _deliver_inline(self, deadline: float) -> bool:
        """Deliver on the caller's thread (no thread can run), retrying within ``deadline``."""
        if self._cycler == threading.get_ident():
            return False  # a signal handler inside our own cycle: never wait on ourselves
        budget = max(min(deadline - self._clock(), MAX_WAIT), 0)
        if not self._cycling.acquire(timeout=budget):
            return False
        self._cycler = threading.get_ident()
        box = self._box
        try:
            self._prepare()
            self._drain()
            flush = _Flush(deadline)
            box.take(flush)
            box.dirty = box.urgent = True
            while not self.closed and not flush.answered:
                now = self._clock()
                wait = box.delay(now)
                if wait is None or now + wait >= deadline:
                    break
                time.sleep(wait)
                box.cycle(deadline)
                if box.refused:
                    self.closed = True
            return flush.answered and flush.delivered
        except Exception:
            return False
        finally:
            box.close()
            self._cycler = None
            self._cycling.release()

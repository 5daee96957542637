"""One background thread that posts the newest status, at most once per interval.

Shaped after Sentry's ``BackgroundWorker`` and OpenTelemetry's batch processor: a small
vocabulary (``submit``, ``flush(timeout)``, ``shutdown``), a daemon thread started lazily on the
first submit, waits that any flush or shutdown interrupts, and no lock held across a request.

The sender does not queue statuses. ``submit`` only says "something changed"; when a post is
allowed the thread calls ``compose()`` and sends what it returns, so the newest state always
wins and a stale status is never sent (nor retried: a retry composes afresh).
"""

from __future__ import annotations

import threading
import time
from typing import Callable

from . import _log
from ._throttle import backoff
from ._transport import DROP, OK, RETRY, STOP, Result

#: ``compose()`` returns the status to post now and whether bars are running (keep ticking).
Compose = Callable[[], "tuple[str, bool]"]
Post = Callable[[str, float], Result]

REQUEST_TIMEOUT = 15.0
BYPASS_BURST = 2  # urgent posts that may skip the interval at once (then one per interval)
FLUSH_RETRY_PAUSE = 0.25


class Sender:
    """Posts ``compose()`` results: leading edge, then at most once per ``interval`` (trailing).

    ``submit(urgent=True)`` (a run's first bar, its last bar closing, a milestone) skips the wait
    while it has a token: two at most, one earned per interval. So the first and the final status
    go out at once, but a burst of short bars cannot flood the API.
    """

    def __init__(self, post: Post, compose: Compose, interval: float, where: str) -> None:
        self.interval = interval
        self._post = post
        self._compose = compose
        self._where = where  # safe host name for messages
        self._cond = threading.Condition(threading.Lock())
        self._starting = threading.RLock()
        self._thread: threading.Thread | None = None
        self._no_thread = False  # the thread could not start (interpreter shutting down)
        self._dirty = False
        self._urgent = False
        self._ticking = False
        self._stopped = False
        self._flush_asked = 0
        self._flush_done = 0
        self._last_cycle = float("-inf")
        self._bypasses = float(BYPASS_BURST)  # urgent posts allowed now, without the wait
        self._refilled = time.monotonic()
        self._backoff_until = float("-inf")
        self._retry_after_until = float("-inf")
        self._failures = 0
        self._last_kind = OK  # how the latest cycle ended
        self._last_sent: str | None = None  # the latest status the server accepted
        self._last_refused: str | None = None

    # -- what the mirror calls ------------------------------------------------------------------

    def submit(self, urgent: bool = False) -> None:
        """Something changed: post the newest status when the throttle allows. Never blocks."""
        with self._cond:
            if self._stopped:
                return
            self._dirty = True
            self._urgent = self._urgent or urgent
            self._cond.notify()
        if self._thread is None or not self._thread.is_alive():
            self._start()

    def poke(self) -> None:
        """Like ``submit`` without taking the lock (from ``__del__``): seen at the next wake-up."""
        self._dirty = True

    def flush(self, timeout: float) -> bool:
        """Deliver the newest status now, waiting at most ``timeout`` s. True if nothing is left.

        A retryable failure (503, a reset connection…) is tried again within the time left,
        after short pauses (0.25 s, 0.5 s, 1 s …) that never hammer a failing server.
        """
        deadline = time.monotonic() + max(timeout, 0.0)
        pause = FLUSH_RETRY_PAUSE
        while True:
            with self._cond:
                if self._stopped:
                    return False
                if self._thread is None or not self._thread.is_alive():
                    break
                self._flush_asked += 1
                target = self._flush_asked
                self._cond.notify_all()
                while self._flush_done < target and not self._stopped:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    self._cond.wait(remaining)
                if self._stopped or self._last_kind != RETRY:
                    return not self._stopped and self._last_kind == OK
                remaining = deadline - time.monotonic()
                if remaining <= pause:
                    return False
                self._cond.wait(pause)  # a shutdown wakes it
                pause *= 2
        # No thread (never needed one, or it can no longer start): post here, once.
        with self._cond:
            if not self._dirty:
                return self._last_kind == OK
            self._dirty = False
        return self._cycle(deadline) == OK

    def shutdown(self) -> None:
        """Stop the thread at its next wake-up; an in-flight request is abandoned, not awaited."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    # -- the thread -----------------------------------------------------------------------------

    def _start(self) -> None:
        # Outside the lock: creating a thread allocates, allocation may run the garbage collector,
        # and a collected bar's close() ends up here again.
        with self._starting:
            if self._no_thread or (self._thread is not None and self._thread.is_alive()):
                return
            thread = threading.Thread(target=self._run, name="vhtqdm-sender", daemon=True)
            try:
                thread.start()
            except RuntimeError:  # "can't create new thread at interpreter shutdown"
                self._no_thread = True
                return
            self._thread = thread

    def _wait_time(self, now: float) -> float | None:
        """Seconds until the next cycle (0 = now), or None to sleep until notified."""
        gate = self._retry_after_until  # the server's own Retry-After binds even a flush
        if self._flush_asked > self._flush_done:
            return max(gate - now, 0.0)
        gate = max(gate, self._backoff_until)
        if self._urgent and self._may_bypass(now):
            return max(gate - now, 0.0)
        if self._dirty or self._ticking:
            return max(self._last_cycle + self.interval, gate) - now
        return None

    def _may_bypass(self, now: float) -> bool:
        """Earn tokens (one per interval, two at most); True if an urgent post may go now."""
        earned = (now - self._refilled) / self.interval
        self._bypasses = min(float(BYPASS_BURST), self._bypasses + earned)
        self._refilled = now
        return self._bypasses >= 1

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._stopped:
                        return
                    now = time.monotonic()
                    wait = self._wait_time(now)
                    if wait is not None and wait <= 0:
                        break
                    self._cond.wait(wait)
                target = self._flush_asked
                if self._urgent and now < self._last_cycle + self.interval:
                    self._bypasses -= 1  # this cycle skips the wait: it spends a token
                self._dirty = self._urgent = False
            try:
                self._cycle(time.monotonic() + REQUEST_TIMEOUT)
            except Exception as exc:  # a bug here must not kill the thread silently forever
                _log.warn_once("internal", f"status composition failed ({type(exc).__name__})")
            with self._cond:
                self._flush_done = max(self._flush_done, target)
                self._cond.notify_all()

    def _cycle(self, deadline: float) -> str:
        """Compose, post if it changed, and plan the next try. Returns the result kind."""
        self._last_cycle = time.monotonic()  # first: a compose() that raises must not spin
        text, ticking = self._compose()
        now = time.monotonic()
        self._ticking = ticking
        if text == self._last_sent:  # the server already shows it
            self._last_kind = OK
            return OK
        if text == self._last_refused:  # refused as it is: it would be refused again
            self._last_kind = DROP
            return DROP
        result = self._post(text, max(deadline - now, 0.1))
        self._after(result, text)
        return result.kind

    def _after(self, result: Result, text: str) -> None:
        now = time.monotonic()
        with self._cond:
            self._last_kind = result.kind
            recovered = result.kind == OK and self._failures > 0
            if result.kind == OK:
                self._last_sent = text
                self._failures = 0
            elif result.kind == RETRY:
                self._failures += 1
                self._backoff_until = now + backoff(self._failures)
                if result.retry_after is not None:
                    self._retry_after_until = now + result.retry_after
                self._dirty = True  # come back later with whatever is newest then
            elif result.kind == DROP:
                self._failures += 1
                self._last_refused = text
            elif result.kind == STOP:
                self._stopped = True
                self._cond.notify_all()
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

"""When the next status post may go: the pacing policy, apart from the thread that posts.

Pure: no thread, no I/O, no clock of its own (every decision takes ``now``), so every rule is
tested deterministically (``tests/test_throttle.py``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable

BACKOFF_BASE = 1.0
BACKOFF_CAP = 30.0
URGENT_BURST = 2  # urgent posts that may skip the interval at once (then one earned per interval)
FLUSH_RETRY_PAUSE = 0.25  # a flush retries a retryable failure after 0.25 s, 0.5 s, 1 s …

# How a post ended: what the throttle (and the sender) do next.
OK = "ok"
RETRY = "retry"  # 429, 502-504, connection errors: try again later with the newest status
DROP = "drop"  # other refusals: this status is lost, the next one may pass
REFUSED = "refused"  # 401/403: the token is refused, nothing is sent again


@dataclass(frozen=True)
class Result:
    """What happened to one post; ``detail`` is safe to print (``HTTP 503``, ``ConnectTimeout``)."""

    kind: str
    detail: str = ""
    retry_after: float | None = None
    status: int = 0  # the HTTP status code, 0 when no answer came


_NEVER = float("-inf")


_JITTER = random.Random()  # its own: drawing from the global one would move a seeded program's


def backoff(failures: int) -> float:
    """Seconds before the next try after ``failures`` in a row: 1, 2, 4 … 30, each ±20 %."""
    return float(
        min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(failures - 1, 0)) * _JITTER.uniform(0.8, 1.2)
    )


class Throttle:
    """Leading edge, then at most one regular post per ``interval``; urgent posts and flushes.

    - A regular post goes ``interval`` after the previous post (any kind); a post that failed
      in a way worth retrying (``RETRY``) is retried when its backoff ends (1 s, 2 s, 4 s …).
    - An urgent post (a run's first bar, its last bar closing, a milestone) skips that wait while
      the allowance holds a whole token: ``URGENT_BURST`` at most, one earned per interval. The
      allowance never drops below zero.
    - A flush skips the interval and the backoff and is not charged against the allowance (it is
      the caller asking to wait for delivery, not a post the API did not pace); after a retryable
      failure it retries after a short pause that doubles (0.25 s, 0.5 s …).
    - The server's ``Retry-After`` binds every post, a flush included.
    """

    def __init__(
        self, interval: float, now: float, backoff: Callable[[int], float] = backoff
    ) -> None:
        self.interval = interval
        self._backoff = backoff
        self._allowance = float(URGENT_BURST)
        self._earned_at = now
        self._last_post = _NEVER
        self._failures = 0
        self._backoff_until = _NEVER
        self._retrying = False  # the latest post failed in a way worth a retry
        self._retry_after_until = _NEVER
        self._flush_pause = FLUSH_RETRY_PAUSE
        self._flush_not_before = _NEVER

    def allowance(self, now: float) -> float:
        """Urgent posts that may skip the interval at ``now`` (earned up to now)."""
        if now > self._earned_at:
            earned = (now - self._earned_at) / self.interval
            self._allowance = min(float(URGENT_BURST), self._allowance + earned)
            self._earned_at = now
        return self._allowance

    @property
    def flush_pause(self) -> float:
        """The pause before a flush's next retry."""
        return self._flush_pause

    def delay(
        self, now: float, *, dirty: bool, urgent: bool, ticking: bool, flushing: bool
    ) -> float | None:
        """Seconds until the next post may go (0: now), or None when nothing asks for one.

        ``dirty``: something changed; ``urgent``: a change that should go at once; ``ticking``:
        bars are running (their rate and ETA change by themselves); ``flushing``: a caller waits.
        """
        gate = self._retry_after_until
        if flushing:
            return max(gate, self._flush_not_before, now) - now
        gate = max(gate, self._backoff_until)
        if (urgent and self.allowance(now) >= 1) or (self._retrying and (dirty or urgent)):
            return max(gate, now) - now  # at once, or a failed post's retry: after its backoff
        if dirty or urgent or ticking:
            return max(self._last_post + self.interval, gate, now) - now
        return None

    def start(self, now: float, *, urgent: bool, flushing: bool) -> None:
        """A post goes now; an urgent one that skips the interval spends a token."""
        if urgent and not flushing and now < self._last_post + self.interval:
            self._allowance = max(self.allowance(now) - 1.0, 0.0)
        self._last_post = now

    def done(
        self, now: float, kind: str, retry_after: float | None = None, flushing: bool = False
    ) -> None:
        """How the post ended: plan the backoff (and a flush's next retry) from it."""
        if retry_after is not None:
            self._retry_after_until = max(self._retry_after_until, now + retry_after)
        self._retrying = kind == RETRY
        if kind == OK:
            self._failures = 0
            self._backoff_until = _NEVER
            self._flush_pause = FLUSH_RETRY_PAUSE
            self._flush_not_before = _NEVER
            return
        self._failures += 1
        if kind == RETRY:
            self._backoff_until = now + self._backoff(self._failures)
        if flushing:
            self._flush_not_before = now + self._flush_pause
            self._flush_pause *= 2

    def flush_began(self) -> None:
        """A new flush: its retries start again from the shortest pause."""
        self._flush_pause = FLUSH_RETRY_PAUSE
        self._flush_not_before = _NEVER

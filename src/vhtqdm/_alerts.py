"""Alerts: what a run tells people who are not watching, through a webhook, from its own thread.

``_process`` builds this when ``VHTQDM_ALERT_URL`` is set, on Valohai or not::

    Mirror.status() ──observe──▶ Watch ──events──┐        (the status's thread)
    vhtqdm.alert() ─────────────────────────────┴──▶ inbox (a SimpleQueue: never waits)
    Sender "vhtqdm-alerts" drives Alerts as its route:  (a second sender, its own thread)
        compose: inbox ──Gate──▶ queue; the next alert's word   deliver: its body ──POST──▶ webhook

The two senders never wait on each other: the status's thread only puts events into the inbox
and wakes this sender; a hung or refusing webhook holds this thread only. The queue sends one
alert after another (one a second at most once the burst allowance is spent, as Slack asks of a
webhook), each tried again on 429, 5xx and connection errors (``ALERT_TRIES`` times), with the
status sender's throttle (its backoff, ``Retry-After``). The run's last word (failed, stopped,
finished) comes from the final status (``Mirror.end``), or, if the status's thread is held by a
hung request, from the record itself; the exit waits for it within the same bound as for the
final status. The URL is a secret: the process masks its parts in every output (``_log``).
"""

from __future__ import annotations

import itertools
import queue
import socket
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import TYPE_CHECKING, Callable
from urllib.parse import urlsplit

from . import _log, _ranks
from ._config import read_execution
from ._events import (
    ENDINGS,
    INFO,
    LEVELS,
    MESSAGE,
    RECOVERED,
    STALLED,
    Event,
    Gate,
    Seen,
    Watch,
    summary,
)
from ._limits import ALERT_TRIES
from ._sender import Sender
from ._text import clean
from ._throttle import DROP, OK, REFUSED, RETRY, Result, backoff
from ._webhooks import LINE_CHARS, Context, Message, body, detect, execution_link

if TYPE_CHECKING:
    from ._config import Settings
    from ._record import Record, Story
    from ._views import Job, MetricView, Stall

INTERVAL = 1.0  # seconds between two alerts of a queue (Slack: one message a second)
#: What of the environment tells who speaks (``context``): nothing else of it is kept.
SPEAKER = (
    "VH_CONFIG_DIR",
    "VH_EXECUTION_ID",
    "VH_DIST_MEMBER_INDEX",
    "VH_DIST_MEMBER_COUNT",
    *_ranks.LOCAL_RANKS,
    *_ranks.GLOBAL_RANKS,
)
Clock = Callable[[], float]
Post = Callable[[bytes, float], Result]


def context(environ: Mapping[str, str], api_url: str | None) -> Context:
    """Who speaks, from the environment: the execution (``execution.json``, ``VH_EXECUTION_ID``)
    and its page, the machine, its distributed member and rank. Never raises."""
    try:
        host = socket.gethostname()
    except OSError:
        host = "?"
    data = read_execution(environ)
    execution_id = data.get("valohai.execution-id") or environ.get("VH_EXECUTION_ID") or None
    counter = data.get("valohai.execution-counter")
    project = data.get("valohai.project-name")
    execution_id = str(execution_id) if execution_id else None
    project = project if isinstance(project, str) and project else None
    return Context(
        host,
        execution_id,
        counter if isinstance(counter, int) and not isinstance(counter, bool) else None,
        project,
        execution_link(api_url, project, execution_id),
        _ranks.member(environ),
        _ranks.rank(environ),
    )


class Secret:
    """A string that must never be shown: its repr (and so any ``vars()`` of its holder) hides
    it."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "Secret(…)"


class _Pending:
    """An alert in the queue: its word (what the sender compares), its body, its tries."""

    __slots__ = ("body", "tries", "word")

    def __init__(self, word: str, body: bytes) -> None:
        self.word = word
        self.body = body
        self.tries = 0


class Alerts:
    """The alerts of one process: the route of their own sender (see the module).

    ``record`` reads the process's record (None for ``vhtqdm alert``, which has none);
    ``api_url`` is the status's endpoint, beside which the execution's page is (``_webhooks``);
    ``guard`` is held while requests is imported (the process's before-fork hook takes it).
    """

    interval = INTERVAL
    backoff = staticmethod(backoff)  # the status's policy for retryable failures

    def __init__(
        self,
        url: str,
        fmt: str,
        events: frozenset[str],
        every: float,
        environ: Mapping[str, str],
        *,
        api_url: str | None = None,
        record: Callable[[], Record] | None = None,
        guard: AbstractContextManager[object] | None = None,
        clock: Clock = time.monotonic,
        wall: Clock = time.time,
    ) -> None:
        self._url = Secret(url)
        self._fmt = fmt
        self._events = events
        self._environ = {name: environ[name] for name in SPEAKER if name in environ}
        self._api_url = Secret(api_url or "")  # the status's URL: the execution's page is beside it
        self._record = record
        self._guard = guard or threading.Lock()
        self._clock = clock
        self._wall = wall
        self._started = clock()
        self._inbox: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self._watch = Watch()
        self._watching = threading.Lock()  # the status's thread, or the exit's fallback
        self._gate = Gate(every)
        self._queue: deque[_Pending] = deque()
        self._words = itertools.count(1)
        self._last_ok = ""  # the word of the latest alert delivered (the sender's "sent" one)
        self._seen: Seen | None = None  # the latest status's data
        self._observed = False  # this process composes statuses: it is the one that alerts
        self._ended = threading.Event()  # the run's last word is in the inbox
        self._ending_due: float | None = None  # at exit: the record tells it from then on
        self._deadline: float | None = None  # at exit: when the process stops waiting
        self._context: Context | None = None
        self._post: Post | None = None
        self._settled = 0  # alerts delivered or given up (a flush's progress)
        self._lost = 0  # alerts given up, or refused with the whole webhook
        self._lost_told = 0  # the losses a flush has reported already
        self.problem = ""  # why the latest alert did not go (``HTTP 404``), for the command
        self.host = urlsplit(url).hostname or "?"
        self.sender = Sender(self, where=self.host, clock=clock, name="vhtqdm-alerts")

    def __repr__(self) -> str:
        return f"Alerts({self._fmt}, queued={len(self._queue)})"

    # -- what the process calls ---------------------------------------------------------------

    def observe(
        self,
        story: Story,
        metrics: Sequence[MetricView],
        job: Job | None,
        stall: Stall | None,
    ) -> None:
        """What a status was made of (on the status's thread): its events go to the inbox."""
        try:
            record = self._record() if self._record is not None else None
            seen = Seen(
                story.bars,
                bool(story.live),
                record.phases() if record is not None else story.phases,
                metrics,
                job,
                stall,
                story.ending,
                story.over,
                self._clock() - self._started,
            )
            self._seen = seen
            first = not self._observed
            self._observed = True
            self._tell(seen)
            if first:  # the thread starts now (off the user's), ready for the run's last word
                self.sender.submit()
        except Exception as exc:  # never in the way of the status
            _log.warn_once("alerts-internal", f"alert detection failed ({type(exc).__name__})")

    def say(self, text: object, level: object = INFO) -> None:
        """``vhtqdm.alert(text, level)``: queued for the thread; never waits."""
        word = level.lower() if isinstance(level, str) else ""
        if word not in LEVELS:
            _log.warn_once("alert-level", f"vhtqdm.alert: level {level!r:.20} is not one of "
                           f"{', '.join(LEVELS)}: sent as info")  # fmt: skip
            word = INFO
        title = clean(text, LINE_CHARS) or "(empty alert)"
        self._inbox.put(Event(MESSAGE, word, title, title))
        self.sender.submit(urgent=True)

    def ending(self, bound: float) -> None:
        """The process ends (its exit, SIGTERM): its last word is due within ``bound`` s. The
        final status tells it; if that status is not composed by half the bound (its thread
        waits on a hung request), the record tells it instead."""
        now = self._clock()
        self._deadline = now + bound
        self._ending_due = now + bound / 2
        if self._observed or not self._inbox.empty():  # (a relay has nothing to say)
            self.sender.submit(urgent=True)

    def flush(self, timeout: float | None = None) -> bool:
        """Deliver what is queued (at exit, the last word too), waiting at most ``timeout`` s
        (None: until the exit's deadline). True when every alert since the previous flush was
        delivered."""
        now = self._clock()
        deadline = now + timeout if timeout is not None else (self._deadline or now)
        while self._pending() and not self.sender.closed:
            left = deadline - self._clock()
            if left <= 0:
                break
            settled = self._settled
            if not self.sender.flush(left) and self._settled == settled:
                break  # it failed without settling anything: waiting more will not help
        lost, self._lost_told = self._lost > self._lost_told, self._lost
        return not self._pending() and not lost

    def close(self) -> None:
        """Nothing more is sent; an alert in flight is abandoned (its thread is a daemon)."""
        self.sender.shutdown()

    # -- the sender's route (on the alerts' thread, or inline at exit) ------------------------

    def prepare(self) -> None:
        """Learn who speaks and import the HTTP client (requests), off the user's thread."""
        self._context = context(self._environ, self._api_url.value or None)
        self._client()

    def _client(self) -> Post:
        """The webhook's poster, built now if no try has built it yet: an import can fail once
        (a module the job's thread is still importing, as CPython 3.9 allows) and work later."""
        if self._post is None:
            with self._guard:  # a fork meanwhile waits (its child would inherit the import lock)
                from ._post import Webhook

                self._post = Webhook(self._url.value).post
        return self._post

    def compose(self) -> tuple[str, bool]:
        """The next alert's word (the latest one delivered when none waits), and whether more
        wait behind it."""
        self._await_ending()
        self._drain()
        if not self._queue:
            return self._last_ok, False
        return self._queue[0].word, len(self._queue) > 1

    def deliver(self, text: str, timeout: float) -> Result:
        """Post the alert ``text`` names; settle it (delivered, given up, or all of them when the
        webhook is gone). Its result carries no detail: this route says what went wrong."""
        if not self._queue or self._queue[0].word != text:
            return Result(OK)
        head = self._queue[0]
        try:
            post = self._client()
        except Exception as exc:  # tried again with the next alert
            result = Result(RETRY, f"no HTTP client: {type(exc).__name__}")
        else:
            result = post(head.body, timeout)
        head.tries += 1
        kind = result.kind
        if kind == RETRY and head.tries >= ALERT_TRIES:
            kind = DROP  # tried enough: the next alert is not held back any longer
        if kind in (OK, DROP):
            self._queue.popleft()
            self._settled += 1
            if kind == OK:
                self._last_ok = text
            else:
                self._lost += 1
        elif kind == REFUSED:
            self._settled += len(self._queue)
            self._lost += len(self._queue)
            self._queue.clear()
        if kind != OK:
            self.problem = result.detail
            self._complain(kind, result.detail)
        return Result(kind, "", result.retry_after, result.status)

    # -- inside ---------------------------------------------------------------------------------

    def _wanted(self, event: Event) -> bool:
        kind = STALLED if event.kind == RECOVERED else event.kind
        return kind == MESSAGE or kind in self._events

    def _tell(self, seen: Seen) -> None:
        """The watch's events for ``seen``, the wanted ones into the inbox."""
        if not self._watching.acquire(timeout=1.0):
            return
        try:
            events = self._watch.observe(seen)
        finally:
            self._watching.release()
        wanted = [event for event in events if self._wanted(event)]
        for event in wanted:
            self._inbox.put(event)
        if any(event.kind in ENDINGS for event in events):
            self._ended.set()
        if wanted:
            self.sender.submit(urgent=True)

    def _await_ending(self) -> None:
        """At exit, before composing: wait for the final status's last word until it is due,
        then have the record tell it (the status's thread is held by a hung request)."""
        due, record = self._ending_due, self._record
        if due is None or record is None or not self._observed or self._ended.is_set():
            return
        self._ended.wait(max(due - self._clock(), 0.0))
        if self._ended.is_set():
            return
        latest = self._seen
        try:
            story = record().story()
        except Exception:  # the record is the user's bars: no last word rather than none ever
            self._ended.set()
            return
        self._tell(
            Seen(
                story.bars,
                bool(story.live),
                record().phases(),
                latest.metrics if latest is not None else (),
                latest.job if latest is not None else None,
                None,
                story.ending,
                True,
                self._clock() - self._started,
            )
        )

    def _drain(self) -> None:
        """Inbox → gate → queue, each alert's body built now (the context known by now)."""
        now = self._clock()
        while True:
            try:
                event = self._inbox.get_nowait()
            except queue.Empty:
                return
            if not self._gate.admit(event, now):
                continue
            if event.summary is None and event.kind == MESSAGE and self._seen is not None:
                event = replace(event, summary=summary(self._seen))
            capped = self._gate.capped if event.kind in ENDINGS else 0
            speaker = self._context or Context("?")
            message = Message(event, speaker, self._wall(), capped)
            self._queue.append(_Pending(str(next(self._words)), body(self._fmt, message)))

    def _pending(self) -> bool:
        expecting = self._ending_due is not None and self._observed and not self._ended.is_set()
        return bool(self._queue) or not self._inbox.empty() or expecting

    def _complain(self, kind: str, detail: str) -> None:
        """One warning for the process, whatever goes wrong with the webhook."""
        if kind == RETRY:
            say = f"alerts to {self.host} are failing ({detail}); vhtqdm tries each a few times"
        elif kind == REFUSED:
            say = f"{self.host} refused the alerts ({detail}: the webhook is revoked or gone)"
        else:
            say = f"{self.host} did not take an alert ({detail}); later alerts are still sent"
        _log.warn_once("alerts", f"{say}; the job and its status are unaffected")


class Unposted:
    """The status's route off Valohai when alerts are on: the status is still composed (the
    alerts see the run there) and goes nowhere."""

    def __init__(self, status: Callable[[], tuple[str, bool]], interval: Callable[[], float]):
        self._status = status
        self._interval = interval

    backoff = staticmethod(backoff)  # (it never fails: nothing is sent)

    @property
    def interval(self) -> float:
        return self._interval()

    def prepare(self) -> None:
        pass

    def compose(self) -> tuple[str, bool]:
        return self._status()

    def deliver(self, text: str, timeout: float) -> Result:
        return Result(OK)


def usable(url: str) -> bool:
    """Whether ``url`` is one alerts can be posted to (http or https, with a host)."""
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def build(
    settings: Settings,
    environ: Mapping[str, str],
    api_url: str | None,
    record: Callable[[], Record] | None = None,
    guard: AbstractContextManager[object] | None = None,
) -> Alerts | None:
    """The process's alerts, from its settings; None (one warning) when the URL is unusable."""
    url = settings.alert_url
    if not usable(url):
        _log.warn_once("alert-url", "VHTQDM_ALERT_URL is not an http(s) URL: no alert is sent")
        return None
    fmt = settings.alert_format or detect(url)
    return Alerts(
        url,
        fmt,
        settings.alert_on,
        settings.alert_every,
        environ,
        api_url=api_url,
        record=record,
        guard=guard,
    )

"""The sender, in process: its outbox driven step by step on a fake clock, and its thread.

The outbox decides what is sent when, given the time; these tests play whole runs against a
fake route (no network, no sleep) and read exactly what was sent at which moment.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from vhtqdm import _threads
from vhtqdm._sender import Outbox, Sender, _Flush
from vhtqdm._throttle import DROP, OK, REFUSED, RETRY, Result


class Clock:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Route:
    """A route that records what it was asked to send and answers from a script."""

    def __init__(self, clock: Clock, interval: float = 5.0) -> None:
        self.clock = clock
        self.interval = interval
        self.text = "status 0"
        self.ticking = False
        self.answers: list[Result] = []
        self.sent: list[tuple[float, str]] = []
        self.composed = 0
        self.fail_compose = False

    def backoff(self, failures: int) -> float:
        return float(2 ** (failures - 1))  # 1, 2, 4 … without jitter: exact moments

    def prepare(self) -> None:
        pass

    def compose(self) -> tuple[str, bool]:
        self.composed += 1
        if self.fail_compose:
            raise RuntimeError("bug")
        return self.text, self.ticking

    def deliver(self, text: str, timeout: float) -> Result:
        self.sent.append((self.clock(), text))
        return self.answers.pop(0) if self.answers else Result(OK, "HTTP 200", status=200)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def route(clock: Clock) -> Route:
    return Route(clock)


def run(box: Outbox, clock: Clock, until: float) -> None:
    """Play the outbox as its thread would, jumping the clock to each moment it waits for."""
    while True:
        wait = box.delay(clock())
        if wait is None:
            return
        if clock() + wait > until:
            clock.now = until
            return
        clock.now += wait
        box.cycle(float("inf"))


def changed(box: Outbox, urgent: bool = False) -> None:
    box.take(urgent)


def test_the_first_change_goes_at_once_then_one_send_per_interval(
    clock: Clock, route: Route
) -> None:
    box = Outbox(route, clock, "host")
    changed(box, urgent=True)
    run(box, clock, clock() + 0.1)
    assert [t for t, _ in route.sent] == [1000.0]
    route.ticking = True  # bars run: their rate and ETA change by themselves
    for second in range(1, 21):  # a change every second for 20 s
        route.text = f"status {second}"
        changed(box)
        run(box, clock, 1000.0 + second)
    assert [t - 1000.0 for t, _ in route.sent] == [0.0, 5.0, 10.0, 15.0, 20.0]


def test_an_unchanged_status_is_never_sent_again(clock: Clock, route: Route) -> None:
    box = Outbox(route, clock, "host")
    route.ticking = True
    changed(box, urgent=True)
    run(box, clock, clock() + 60)
    assert len(route.sent) == 1
    assert route.composed == 1 + 60 // 5  # it looked every interval, and sent nothing new


def test_urgent_changes_skip_the_interval_two_at_most_then_wait_for_it(
    clock: Clock, route: Route
) -> None:
    box = Outbox(route, clock, "host")
    for i in range(6):  # six bars closing in a burst
        route.text = f"closed {i}"
        changed(box, urgent=True)
        run(box, clock, clock() + 0.01)
    assert len(route.sent) == 3  # the first send, then the allowance of two
    run(box, clock, clock() + 5)
    assert [text for _, text in route.sent[3:]] == ["closed 5"]  # the rest: the newest, later


def test_a_failing_composer_costs_one_warning_and_never_spins(
    clock: Clock, route: Route, caplog: pytest.LogCaptureFixture
) -> None:
    box = Outbox(route, clock, "host")
    route.ticking = True
    changed(box, urgent=True)
    run(box, clock, clock() + 1)
    route.fail_compose = True
    for second in range(2, 61):
        changed(box)
        run(box, clock, 1000.0 + second)
    assert route.composed <= 2 + 60 // 5  # at most once per interval, as before
    said = [r.getMessage() for r in caplog.records if r.name == "vhtqdm"]
    assert said == ["vhtqdm: status composition failed (RuntimeError)"]


def test_retryable_failures_back_off_and_retry_after_binds_even_a_flush(
    clock: Clock, route: Route
) -> None:
    box = Outbox(route, clock, "host")
    route.answers = [Result(RETRY, "HTTP 429", retry_after=7.0, status=429)]
    changed(box, urgent=True)
    run(box, clock, clock() + 0.1)
    flush = _Flush(clock() + 30)
    box.take(flush)
    run(box, clock, clock() + 30)
    assert [t - 1000.0 for t, _ in route.sent] == [0.0, 7.0]  # not before Retry-After
    assert flush.answered and flush.delivered


def test_a_flushed_status_refused_with_a_500_gets_one_more_try(clock: Clock, route: Route) -> None:
    box = Outbox(route, clock, "host")
    route.answers = [Result(DROP, "HTTP 500", status=500)] * 3
    changed(box, urgent=True)
    run(box, clock, clock() + 0.1)  # refused mid-run: not tried again for itself
    assert len(route.sent) == 1
    flush = _Flush(clock() + 2)
    box.take(flush)
    run(box, clock, clock() + 2)
    assert len(route.sent) == 2  # the final status: one more try, refused again
    assert flush.answered and not flush.delivered
    route.answers = [Result(DROP, "HTTP 500", status=500)]
    route.text = "final"
    flush = _Flush(clock() + 2)
    box.take(flush)
    run(box, clock, clock() + 2)
    assert [text for _, text in route.sent[2:]] == ["final", "final"]  # refused, then taken
    assert flush.delivered


def test_other_refusals_are_not_retried(clock: Clock, route: Route) -> None:
    box = Outbox(route, clock, "host")
    route.answers = [Result(DROP, "HTTP 400", status=400)]
    flush = _Flush(clock() + 5)
    box.take(flush)
    run(box, clock, clock() + 5)
    assert len(route.sent) == 1 and flush.answered and not flush.delivered


def test_a_refused_token_answers_every_waiting_flush_at_once(clock: Clock, route: Route) -> None:
    box = Outbox(route, clock, "host")
    route.answers = [Result(REFUSED, "HTTP 401", status=401)]
    first, second = _Flush(clock() + 5), _Flush(clock() + 5)
    box.take(first)
    box.take(second)
    run(box, clock, clock() + 0.01)
    assert box.refused and first.answered and second.answered
    assert not first.delivered and not second.delivered


def test_a_flush_past_its_deadline_is_answered_false(clock: Clock, route: Route) -> None:
    box = Outbox(route, clock, "host")
    route.answers = [Result(RETRY, "ConnectionError")] * 20
    flush = _Flush(clock() + 1.0)
    box.take(flush)
    run(box, clock, clock() + 3)
    assert flush.answered and not flush.delivered
    moments = [round(t - 1000.0, 2) for t, _ in route.sent]
    assert moments[:2] == [0.0, 0.25]  # the flush's own retry; the next (0.75) was too late
    assert moments[2:] == [2.25]  # then the status's backoff: 2 s after its second failure


def test_a_failed_status_is_retried_after_its_backoff_not_an_interval(
    clock: Clock, route: Route
) -> None:
    box = Outbox(route, clock, "host")
    route.answers = [Result(RETRY, "HTTP 503", status=503)] * 3
    changed(box, urgent=True)
    run(box, clock, clock() + 20)
    assert [round(t - 1000.0, 2) for t, _ in route.sent] == [0.0, 1.0, 3.0, 7.0]


# -- the thread ----------------------------------------------------------------------------------


class Gate(Route):
    """A route whose sends wait until the test opens the gate."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock)
        self.entered = threading.Event()
        self.gate = threading.Event()

    def deliver(self, text: str, timeout: float) -> Result:
        self.entered.set()
        assert self.gate.wait(10)
        return super().deliver(text, timeout)


@pytest.fixture
def gated(clock: Clock) -> Iterator[Gate]:
    gate = Gate(clock)
    yield gate
    gate.gate.set()


def test_a_flush_waiting_while_the_token_is_refused_is_answered_at_once(
    clock: Clock, gated: Gate
) -> None:
    # Fails on the previous code: the flush came in while the refused request was in flight
    # and was never answered; flush(5) returned False after 5 s.
    sender = Sender(gated, where="host", clock=clock)
    gated.answers = [Result(REFUSED, "HTTP 401", status=401)]
    sender.submit(urgent=True)
    assert gated.entered.wait(5)
    answers: list[bool] = []
    waiting = threading.Thread(target=lambda: answers.append(sender.flush(30)))
    waiting.start()
    gated.gate.set()
    waiting.join(5)
    assert answers == [False]
    assert sender.closed and not sender.flush(30)


def test_a_thread_that_could_not_start_is_started_by_the_next_try(
    clock: Clock, route: Route, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Fails on the previous code: nothing tried again until the next submit, a second later.
    start = threading.Thread.start

    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    sender = Sender(route, where="host", clock=clock)
    sender.submit(urgent=True)
    assert sender.start_pending
    monkeypatch.setattr(threading.Thread, "start", start)
    sender.retry_start()  # too soon: its pause is not over
    assert sender.start_pending
    clock.now += _threads.RETRY
    sender.retry_start()
    assert not sender.start_pending
    assert sender.flush(5) and route.sent
    sender.shutdown()

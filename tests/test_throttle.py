"""The throttle's pacing rules on an injected clock: deterministic, no sleeping."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vhtqdm._throttle import DROP, FLUSH_RETRY_PAUSE, OK, RETRY, URGENT_BURST, Throttle, backoff


def no_jitter(failures: int) -> float:
    return float(2 ** (failures - 1))


def make(interval: float = 5.0) -> Throttle:
    return Throttle(interval, now=0.0, backoff=no_jitter)


def post(throttle: Throttle, now: float, *, urgent: bool = False, flushing: bool = False) -> None:
    throttle.start(now, urgent=urgent, flushing=flushing)
    throttle.done(now, OK, flushing=flushing)


def delay(throttle: Throttle, now: float, **flags: bool) -> float | None:
    kinds = {"dirty": False, "urgent": False, "ticking": False, "flushing": False, **flags}
    return throttle.delay(now, **kinds)


def test_nothing_to_post_means_no_wake_up() -> None:
    assert delay(make(), 0.0) is None


def test_the_first_change_goes_at_once_then_one_per_interval() -> None:
    throttle = make()
    assert delay(throttle, 0.0, dirty=True) == 0
    post(throttle, 0.0)
    assert delay(throttle, 1.0, dirty=True) == 4.0
    assert delay(throttle, 1.0, ticking=True) == 4.0


def test_urgent_posts_skip_the_interval_within_the_burst() -> None:
    throttle = make()
    post(throttle, 0.0)
    for i in range(URGENT_BURST):
        assert delay(throttle, 0.1 * (i + 1), urgent=True) == 0
        post(throttle, 0.1 * (i + 1), urgent=True)
    assert delay(throttle, 0.4, urgent=True) == pytest.approx(4.8)  # no token: the schedule
    assert throttle.allowance(0.4) >= 0


def test_a_token_is_earned_per_interval() -> None:
    throttle = make()
    for t in (0.0, 0.1, 0.2):
        post(throttle, t, urgent=True)
    assert throttle.allowance(0.2) < 1
    assert throttle.allowance(5.2) >= 1  # one interval later


def test_flushes_are_not_charged_against_the_allowance() -> None:
    # Issue 9 item 8: six set_status + flush pairs left the balance at -3, so the last bar's
    # close waited an interval instead of going at once.
    throttle = make()
    for i in range(6):
        now = 0.01 * i
        assert delay(throttle, now, urgent=True, flushing=True) == 0
        post(throttle, now, urgent=True, flushing=True)
    assert throttle.allowance(0.1) == URGENT_BURST
    assert delay(throttle, 0.1, urgent=True) == 0  # the last bar's close: at once


def test_backoff_delays_regular_and_urgent_posts_but_not_a_flush() -> None:
    throttle = make(interval=0.5)
    throttle.start(0.0, urgent=False, flushing=False)
    throttle.done(0.0, RETRY)
    throttle.start(1.0, urgent=False, flushing=False)
    throttle.done(1.0, RETRY)  # second failure: 2 s
    assert delay(throttle, 1.0, dirty=True) == 2.0
    assert delay(throttle, 1.0, urgent=True) == 2.0
    assert delay(throttle, 1.0, flushing=True) == 0


def test_retry_after_binds_even_a_flush() -> None:
    throttle = make()
    throttle.start(0.0, urgent=False, flushing=True)
    throttle.done(0.0, RETRY, retry_after=3.0, flushing=True)
    assert delay(throttle, 1.0, flushing=True) == 2.0
    assert delay(throttle, 1.0, urgent=True) == 2.0


def test_a_flush_retries_after_pauses_that_double() -> None:
    throttle = make()
    throttle.flush_began()
    pauses = []
    now = 0.0
    for _ in range(4):
        now += delay(throttle, now, flushing=True) or 0.0
        throttle.start(now, urgent=False, flushing=True)
        throttle.done(now, RETRY, flushing=True)
        pauses.append(delay(throttle, now, flushing=True))
    assert pauses == [FLUSH_RETRY_PAUSE * 2**i for i in range(4)]
    throttle.flush_began()
    assert delay(throttle, now, flushing=True) == 0


def test_success_clears_the_backoff() -> None:
    throttle = make()
    throttle.start(0.0, urgent=False, flushing=False)
    throttle.done(0.0, RETRY)
    post(throttle, 0.5, flushing=True)
    assert delay(throttle, 0.5, urgent=True) == 0


def test_backoff_grows_to_its_cap_with_jitter() -> None:
    assert 0.8 <= backoff(1) <= 1.2
    assert 3.2 <= backoff(3) <= 4.8
    assert 24 <= backoff(50) <= 36


# -- invariants over any sequence of events --------------------------------------------------

events = st.lists(
    st.tuples(
        st.floats(min_value=0.0, max_value=3.0),  # time since the previous event
        st.booleans(),  # urgent
        st.booleans(),  # flushing
        st.sampled_from([OK, OK, RETRY, DROP]),
        st.one_of(st.none(), st.floats(min_value=0.0, max_value=10.0)),  # Retry-After
    ),
    max_size=60,
)


Event = tuple[float, bool, bool, str, Optional[float]]


def run(throttle: Throttle, sequence: list[Event]) -> Iterator[tuple[float, bool, bool, Throttle]]:
    """Post whenever the throttle allows; yields (time, urgent, flushing) of each post."""
    now = 0.0
    for gap, urgent, flushing, kind, retry_after in sequence:
        now += gap
        wait = delay(throttle, now, dirty=True, urgent=urgent, flushing=flushing)
        assert wait is not None and wait >= 0
        now += wait
        throttle.start(now, urgent=urgent, flushing=flushing)
        yield now, urgent, flushing, throttle
        throttle.done(now, kind, retry_after, flushing=flushing)
        assert throttle.allowance(now) >= 0


@settings(max_examples=200, deadline=None)
@given(events)
def test_the_allowance_never_drops_below_zero(sequence: list[Event]) -> None:
    for now, _, _, throttle in run(make(1.0), sequence):
        assert 0 <= throttle.allowance(now) <= URGENT_BURST


@settings(max_examples=200, deadline=None)
@given(events)
def test_never_two_regular_posts_closer_than_the_interval(sequence: list[Event]) -> None:
    previous = float("-inf")
    for now, urgent, flushing, _ in run(make(1.0), sequence):
        if not urgent and not flushing:
            assert now - previous >= 1.0 - 1e-9
        previous = now


@settings(max_examples=200, deadline=None)
@given(events)
def test_retry_after_is_honoured_by_every_post(sequence: list[Event]) -> None:
    throttle = make(1.0)
    now = 0.0
    not_before = float("-inf")
    for gap, urgent, flushing, kind, retry_after in sequence:
        now += gap
        now += delay(throttle, now, dirty=True, urgent=urgent, flushing=flushing) or 0.0
        assert now >= not_before - 1e-9
        throttle.start(now, urgent=urgent, flushing=flushing)
        throttle.done(now, kind, retry_after, flushing=flushing)
        if retry_after is not None:
            not_before = max(not_before, now + retry_after)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=40))
def test_urgent_posts_per_window_are_bounded(count: int) -> None:
    # A burst of urgent changes within one interval: at most the burst skips the wait.
    throttle = make(10.0)
    post(throttle, 0.0)
    skipped = 0
    for i in range(count):
        now = 0.001 * (i + 1)
        if delay(throttle, now, urgent=True) == 0:
            post(throttle, now, urgent=True)
            skipped += 1
    assert skipped <= URGENT_BURST

"""Stall detection, with the clock passed in: no sleeping."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from vhtqdm._stall import Progress, stalled, threshold, usual_step


def test_progress_is_any_count_changing_or_a_bar_starting_or_ending() -> None:
    seen = Progress(now=0.0)
    seen.observe({1: 5}, now=1.0)
    assert seen.advanced == 1.0  # a bar appeared
    seen.observe({1: 5}, now=50.0)
    assert seen.advanced == 1.0
    seen.observe({1: 6}, now=60.0)
    assert seen.advanced == 60.0
    seen.observe({1: 6, 2: 0}, now=70.0)
    assert seen.advanced == 70.0
    seen.observe({1: 6}, now=80.0)
    assert seen.advanced == 80.0


def test_a_stall_after_stall_after_seconds_without_progress() -> None:
    assert stalled(advanced=0.0, now=299.0, stall_after=300, usual_step=0.3) is None
    stall = stalled(advanced=0.0, now=360.0, stall_after=300, usual_step=0.3)
    assert stall is not None and stall.seconds == 360.0 and stall.usual_step == 0.3


def test_slow_steps_need_ten_of_them_and_zero_turns_it_off() -> None:
    assert threshold(300, 60.0) == 600.0
    assert stalled(advanced=0.0, now=500.0, stall_after=300, usual_step=60.0) is None
    assert stalled(advanced=0.0, now=601.0, stall_after=300, usual_step=60.0) is not None
    assert threshold(0, 1.0) is None
    assert stalled(advanced=0.0, now=1e9, stall_after=0, usual_step=None) is None
    assert threshold(0.5, None) == 0.5  # any positive value


def test_usual_step_from_the_rate() -> None:
    assert usual_step(4.0) == 0.25
    assert usual_step(None) is None
    assert usual_step(0.0) is None
    assert usual_step(float("inf")) is None


@given(
    advanced=st.floats(0, 1e6),
    idle=st.floats(0, 1e6),
    stall_after=st.floats(0, 1e4),
    step=st.one_of(st.none(), st.floats(0, 1e3)),
)
def test_a_stall_is_exactly_idle_beyond_the_threshold(advanced, idle, stall_after, step) -> None:
    now = advanced + idle
    limit = threshold(stall_after, step)
    stall = stalled(advanced, now, stall_after, step)
    assert (stall is not None) == (limit is not None and now - advanced > limit)
    if limit is not None:
        assert limit >= stall_after

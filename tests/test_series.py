"""The series: a whole run's curve in bounded memory (pure; property-tested)."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from vhtqdm._series import HUGE, Series

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
anything = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**400), max_value=10**400),
)
windows = st.integers(min_value=2, max_value=60)


def fed(window: int, values: list[float]) -> Series:
    series = Series(window)
    for step, value in enumerate(values):
        series.add(value, step)
    return series


@settings(max_examples=300)
@given(window=windows, values=st.lists(finite, max_size=2000))
def test_point_count_stays_between_half_the_window_and_the_window(window, values) -> None:
    points = fed(window, values).points()
    assert len(points) <= window
    assert len(points) >= min(len(values), window // 2)


@settings(max_examples=300)
@given(window=windows, values=st.lists(finite, min_size=1, max_size=2000))
def test_merges_preserve_the_mean_and_every_report(window, values) -> None:
    series = fed(window, values)
    buckets = series.buckets()
    assert sum(count for _, count in buckets) == len(values)
    assert math.isclose(sum(total for total, _ in buckets), math.fsum(values), abs_tol=1e-6)
    # Buckets are fixed-size runs of consecutive reports: all full but the open last one.
    assert all(count == series.size for _, count in buckets[:-1])


@settings(max_examples=300)
@given(window=windows, values=st.lists(finite, min_size=1, max_size=2000))
def test_first_and_latest_reports_are_represented(window, values) -> None:
    series = fed(window, values)
    points = series.points()
    first = values[: series.size]
    in_open = series.size - series.room  # reports in the open bucket
    latest = values[-in_open:] if in_open else values[-series.size :]
    assert math.isclose(points[0], math.fsum(first) / len(first), rel_tol=1e-9, abs_tol=1e-6)
    assert math.isclose(points[-1], math.fsum(latest) / len(latest), rel_tol=1e-9, abs_tol=1e-6)
    assert series.last == values[-1]


@settings(max_examples=300)
@given(window=windows, values=st.lists(anything, max_size=500))
def test_min_max_are_exact_and_the_first_non_finite_value_is_kept(window, values) -> None:
    series = fed(window, values)
    good = [v for v in values if -HUGE <= v <= HUGE]
    assert series.low == (min(good) if good else math.inf)
    assert series.high == (max(good) if good else -math.inf)
    bad = [(i, v) for i, v in enumerate(values) if not -HUGE <= v <= HUGE]
    if bad:
        step, value = bad[0]
        assert series.bad_step == step
        assert (math.isnan(series.bad) and math.isnan(value)) or series.bad == math.copysign(
            math.inf, 1 if value > 0 else -1
        )
    else:
        assert series.bad is None
    assert all(math.isfinite(p) for p in series.points())


@given(window=windows, values=st.lists(finite, min_size=1, max_size=300))
def test_non_finite_reports_never_erase_finite_ones(window, values) -> None:
    mixed = [v for value in values for v in (value, math.nan)]
    series = fed(window, mixed)
    assert series.low == min(values) and series.high == max(values)
    buckets = series.buckets()
    assert sum(count for _, count in buckets) == len(values)  # every finite one, in a bucket
    assert math.isclose(sum(total for total, _ in buckets), math.fsum(values), abs_tol=1e-6)
    assert len(series.points()) >= min(len(values), window // 2) // 2


def test_memory_is_bounded_by_the_window() -> None:
    series = Series(8)
    for step in range(100_000):
        series.add(step % 7 * 0.5, step)
    assert len(series.buckets()) <= 8
    assert series.size >= 100_000 // 8


def test_a_report_converted_later_does_not_replace_the_latest() -> None:
    series = Series(4)
    series.last = "raw"
    series.add(0.5, 3, latest=False)
    assert series.last == "raw" and series.points() == [0.5]


def test_an_evaluations_value_reported_again_is_one_point_until_the_next_evaluation() -> None:
    series = Series(40, once=True)
    for _ in range(10):  # val_loss shown again with every training step
        series.add(0.5, evaluations=1)
    series.add(0.5, evaluations=2)  # the next evaluation happens to give the same value
    series.add(0.4, evaluations=3)
    series.add(0.4, evaluations=3)
    assert series.points() == [0.5, 0.5, 0.4]
    plain = Series(40)
    for _ in range(3):
        plain.add(0.5)
    assert plain.points() == [0.5, 0.5, 0.5]  # a training metric's every report is a point

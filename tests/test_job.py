"""The whole job's progress: nested bars combined into one fraction, paced by the whole run."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vhtqdm._compose import BarView
from vhtqdm._job import progress


def test_epoch_and_batch_combine_into_one_fraction_with_a_run_paced_eta() -> None:
    epoch = BarView("epoch", n=1, total=3, elapsed=600.0, rate=None)
    batch = BarView("train", n=50, total=100, elapsed=100.0, rate=1000.0)
    job = progress([epoch, batch], nested=True)
    assert job is not None
    assert job.fraction == pytest.approx(0.5)  # (1 + 50/100) / 3
    assert job.elapsed == 600.0
    assert job.eta == pytest.approx(600.0)  # 600 s for half the job: 600 s left, whatever the rate


def test_the_first_epoch_moves_the_job_and_has_an_eta() -> None:
    job = progress([BarView(n=0, total=3, elapsed=30.0), BarView(n=10, total=100)], nested=True)
    assert job is not None and job.fraction == pytest.approx(10 / 300)
    assert job.eta == pytest.approx(30.0 * 29)


def test_three_levels_and_a_level_without_total() -> None:
    bars = [BarView(n=1, total=2), BarView(n=1, total=4), BarView(n=5, total=10)]
    job = progress(bars, nested=True)
    assert job is not None and job.fraction == pytest.approx((1 + (1 + 0.5) / 4) / 2)
    job = progress([BarView(n=1, total=2), BarView(n=7, total=None)], nested=True)
    assert job is not None and job.fraction == pytest.approx(0.5)


def test_no_job_without_nesting_or_without_an_outer_total() -> None:
    assert progress([BarView(n=1, total=3)], nested=False) is None
    assert progress([BarView(n=1, total=None), BarView(n=1, total=3)], nested=True) is None
    assert progress([], nested=True) is None
    job = progress([BarView(n=0, total=3), BarView(n=0, total=10)], nested=True)
    assert job is not None and job.fraction == 0 and job.eta is None


counts = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-(10**30), 10**30))
totals = st.one_of(st.none(), counts)
views = st.builds(
    BarView,
    n=counts,
    total=totals,
    elapsed=st.floats(allow_nan=True, allow_infinity=True),
)


@given(st.lists(views, max_size=4), st.booleans())
def test_the_fraction_is_in_0_1_and_the_eta_non_negative(bars, nested) -> None:
    job = progress(bars, nested)
    if job is not None:
        assert 0.0 <= job.fraction <= 1.0
        assert job.elapsed >= 0.0
        assert job.eta is None or job.eta >= 0.0


@given(
    outer=st.integers(0, 20),
    total=st.integers(1, 20),
    inner_total=st.integers(1, 1000),
    a=st.integers(0, 1000),
    b=st.integers(0, 1000),
    elapsed=st.floats(0, 1e6),
)
def test_more_inner_progress_never_lowers_the_job_or_raises_its_eta(
    outer, total, inner_total, a, b, elapsed
) -> None:
    low, high = sorted((a, b))
    jobs = [
        progress(
            [BarView(n=outer, total=total, elapsed=elapsed), BarView(n=n, total=inner_total)],
            nested=True,
        )
        for n in (low, high)
    ]
    before, after = jobs
    assert before is not None and after is not None
    assert before.fraction <= after.fraction
    if before.eta is not None:
        assert after.eta is not None and after.eta <= before.eta * (1 + 1e-9) + 1e-9


def test_the_eval_bar_after_train_holds_the_job_instead_of_dropping_it() -> None:
    epoch = BarView("epoch", n=1, total=3, elapsed=90.0)
    train_done = progress([epoch, BarView("train", n=40, total=40)], nested=True)
    assert train_done is not None and train_done.fraction == pytest.approx(2 / 3)
    evaluation = progress(
        [epoch, BarView("eval", n=2, total=10)], nested=True, floor=train_done.fraction
    )
    assert evaluation is not None and evaluation.fraction == pytest.approx(2 / 3)
    assert evaluation.eta == pytest.approx(45.0)  # at the held fraction's pace


@given(st.lists(views, min_size=1, max_size=4), st.floats(0, 2))
def test_the_fraction_never_goes_below_the_floor(bars, floor) -> None:
    job = progress(bars, nested=True, floor=floor)
    if job is not None:
        assert min(floor, 1.0) <= job.fraction <= 1.0

"""The whole job's progress: nested bars combined into one fraction and a run-paced ETA.

An epoch bar at 1/3 whose batch bar is at 50/100 means the job is (1 + 0.5) / 3 done. The ETA
comes from the whole run's pace (the outer bar's elapsed time over the fraction done), not from
the inner bar's smoothed rate, which knows nothing about the epochs still to come. ``progress``
is pure; the :class:`Tracker` (on the sender thread) remembers what it needs between statuses.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ._views import BarView, Job, finite


def _fraction(bar: BarView, inner: float) -> float | None:
    """``(n + inner) / total`` clamped to [0, 1]; None when the bar has no usable total."""
    total = finite(bar.total)
    if total is None or total <= 0:
        return None
    n = min(max(finite(bar.n) or 0.0, 0.0), total)
    return min(n + inner, total) / total


def progress(bars: Sequence[BarView], nested: bool, floor: float = 0.0) -> Job | None:
    """The job's progress from the live bars, outermost first, each one nested in the previous.

    None unless the bars are ``nested`` (an inner bar runs or ran inside the outermost) and the
    outermost total is known. Levels below a bar without a total add nothing. The fraction is
    never below ``floor``, the latest one shown for this outer round: when an epoch's eval bar
    starts after its train bar, the job holds instead of falling back to the epoch's start.
    """
    if not nested or not bars:
        return None
    chain: list[BarView] = []
    for bar in bars:
        if _fraction(bar, 0.0) is None:
            break
        chain.append(bar)
    if not chain:
        return None
    done = 0.0
    for bar in reversed(chain):
        done = _fraction(bar, done) or 0.0
    return _paced(max(done, min(floor, 1.0)), max(finite(bars[0].elapsed) or 0.0, 0.0))


def _paced(done: float, elapsed: float) -> Job:
    """The job at ``done`` after ``elapsed`` seconds, its ETA at the same pace."""
    eta = elapsed * (1.0 - done) / done if done > 0 else None
    if eta is not None and not math.isfinite(eta):
        eta = None
    return Job(done, elapsed, eta)


class Tracker:
    """The fraction last shown for the job's outer bar, so that it never falls back within a
    round: when an epoch's eval bar starts after its train bar, the job holds instead of
    falling back to the epoch's start. An outer bar whose count goes back was ``reset()`` for
    another round (Lightning's epoch bar): a job only when declared the whole run.
    """

    def __init__(self) -> None:
        self._rounds: set[int] = set()  # outer bars seen going back: reset for rounds
        self._floor: tuple[int, float, float] = (-1, 0.0, 0.0)  # outer key, its n, fraction

    def update(self, keys: Sequence[int], bars: Sequence[BarView], run: bool) -> Job | None:
        """The job's progress from its chain of nested bars (outermost first: bars ran inside
        the first) and their keys; ``run``: the outer bar was declared the whole run."""
        if not bars:
            return None
        outer = keys[0]
        key, count, floor = self._floor
        if key != outer:
            self._rounds &= {outer}
        if key != outer or not bars[0].n >= count:
            floor = 0.0
            if key == outer:  # its count went back: reset() for another round
                self._rounds.add(outer)
        nested = run or outer not in self._rounds
        job = progress(bars, nested=nested, floor=floor)
        if job is not None:
            self._floor = (outer, bars[0].n, job.fraction)
        return job

"""One metric's whole run in bounded memory: a curve of at most ``window`` points, min, max, NaNs.

Pure (no clock, no thread, no I/O). Reports go into fixed-size buckets of ``size`` consecutive
reports; when ``window`` buckets are full, neighbours merge pairwise and ``size`` doubles, so the
curve always spans the metric's first report to its latest in O(window) memory and O(1)
amortized work per report. A point is the mean of its bucket's finite values: a NaN or an
infinity never erases the finite history around it; the first one is remembered with its step.

The bar's ``set_postfix`` inlines ``add`` for a finite number (``once``, ``total``, ``last``,
``low``, ``high``, ``room``, then ``close`` when the bucket is full): keep the two in step.
"""

from __future__ import annotations

import math

HUGE = 1.7976931348623157e308  # sys.float_info.max: a number outside +-HUGE is not finite


class Series:
    """The buckets, extremes and first non-finite value of one metric.

    A series keeps the window in force when its metric was first reported.
    """

    __slots__ = (
        "_buckets",
        "_skipped",
        "bad",
        "bad_step",
        "high",
        "last",
        "low",
        "once",
        "room",
        "seen",
        "size",
        "total",
        "window",
    )

    def __init__(self, window: int, once: bool = False) -> None:
        self.window = max(2, window - window % 2)  # even: buckets merge in pairs
        # An evaluation's metric: frameworks report its value again at every later step, so a
        # value equal to the latest one is the same report, not a new point, unless an
        # evaluation has ended since that point (``seen``: evaluations ended by then).
        self.once = once
        self.seen = 0
        self.size = 1  # reports per bucket
        # Closed buckets as (sum, count) of their finite values. One list, replaced on merge and
        # never edited in place but by append, so a reader on another thread sees it whole.
        self._buckets: list[tuple[float, int]] = []
        self.total: float = 0  # the open bucket's finite sum
        self.room = 1  # reports the open bucket still takes
        self._skipped = 0  # non-finite reports in the open bucket
        self.low = math.inf  # the run's extremes over finite values
        self.high = -math.inf
        self.last: object = None  # the latest value reported, as reported
        self.bad: float | None = None  # the first non-finite value: nan, inf or -inf
        self.bad_step: object = None  # and the step it came at

    def add(
        self, value: float, step: object = None, latest: bool = True, evaluations: int = 0
    ) -> None:
        """One report of a number (any int or float, finite or not); ``latest``: also the latest
        value (False for a value converted later, when the bar has already set ``last``);
        ``evaluations``: how many evaluations have ended by now."""
        if self.once:
            last = self.last
            numeric = type(last) is float or type(last) is int
            if numeric and value == last and evaluations == self.seen:
                return
            self.seen = evaluations
        if latest:
            self.last = value
        if -HUGE <= value <= HUGE:
            self.total += value
            self.low = min(self.low, value)
            self.high = max(self.high, value)
        else:  # NaN, an infinity, or an int beyond float range
            self._skipped += 1
            if self.bad is None:
                self.bad = (
                    value if isinstance(value, float) else math.inf * (1 if value > 0 else -1)
                )
                self.bad_step = step
        self.room -= 1
        if not self.room:
            self.close()

    def close(self) -> None:
        """Close the full open bucket; merge neighbours pairwise once ``window`` are closed."""
        buckets = self._buckets
        buckets.append((self.total, self.size - self.room - self._skipped))
        self.total, self._skipped = 0, 0
        if len(buckets) >= self.window:
            self._buckets = [
                (a[0] + b[0], a[1] + b[1]) for a, b in zip(buckets[::2], buckets[1::2])
            ]
            self.size *= 2
        self.room = self.size

    def buckets(self) -> list[tuple[float, int]]:
        """Every bucket with a report as (finite sum, finite count), oldest first, the open last."""
        buckets = list(self._buckets)
        if self.room < self.size:
            buckets.append((self.total, self.size - self.room - self._skipped))
        return buckets

    def points(self) -> list[float]:
        """The curve: each bucket's mean of its finite values, oldest first.

        A bucket without a finite value (all NaN) has no point, nor one whose mean is beyond
        float range.
        """
        points = []
        for total, count in self.buckets():
            if count > 0:
                try:
                    mean = total / count
                except OverflowError:  # an int sum beyond float range
                    continue
                if -HUGE <= mean <= HUGE:
                    points.append(float(mean))
        return points

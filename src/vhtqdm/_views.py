"""The plain data the parts hand each other: a bar, a metric, the job, a stall, how it ended.

A leaf module (it imports nothing of vhtqdm): the record and the metrics produce these, the
composer and the relay read them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

# How a bar ended (RUNNING: it has not).
RUNNING = "running"
COMPLETE = "complete"
EARLY = "early"  # closed before reaching its total
FAILED = "failed"
INTERRUPTED = "interrupted"  # Ctrl-C, or SIGTERM (then the job's ending is STOPPED)
# How the job ended, when not by itself: an exception, Ctrl-C, or SIGTERM (the platform's stop).
STOPPED = "stopped"


@dataclass(frozen=True)
class BarView:
    """What a status needs of one progress bar (a snapshot; units as the bar counts them)."""

    desc: str = ""
    n: float = 0
    total: float | None = None
    rate: float | None = None  # units per second, None before it is known
    elapsed: float = 0.0
    unit: str = "it"
    unit_scale: bool | float = False
    unit_divisor: float = 1000
    outcome: str = RUNNING
    detail: str = ""  # why it ended, when its outcome does not say it: ``exit 3``
    runs: int = 1  # ended bars of one kind this view stands for (``file_*.parquet``, 3000 bars)


class MetricView(NamedTuple):
    """One metric: its latest value, its curve over the whole run, its extremes and first NaN."""

    name: str
    value: object
    points: Sequence[float] = ()  # oldest first, at most sparkline_window
    charted: bool = False
    low: object = None  # the run's minimum and maximum finite value
    high: object = None
    bad: object = None  # the first non-finite value (nan, inf, -inf), if any
    bad_step: object = None  # and the run's step it came at


class Milestone(NamedTuple):
    """``vhtqdm.set_status(text, color)``: a line above the bars."""

    text: str
    color: str | None = None


class Ending(NamedTuple):
    """How the job ended when not by itself: FAILED or INTERRUPTED with ``Type: message``, or
    STOPPED (SIGTERM)."""

    kind: str
    error: str = ""


class Job(NamedTuple):
    """The whole job: fraction done in [0, 1], seconds since it began, seconds left (or None)."""

    fraction: float
    elapsed: float
    eta: float | None


class Stall(NamedTuple):
    """How long no bar has advanced, and the innermost bar's usual step time (None: unknown)."""

    seconds: float
    usual_step: float | None = None


def finite(value: object) -> float | None:
    """``value`` as a finite float, or None (NaN, infinities, non-numbers, overflowing ints)."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except Exception:  # TypeError, ValueError, OverflowError, or a __float__ that raises
        return None
    return number if math.isfinite(number) else None

"""Stall detection: when did any live bar last advance, and is that too long ago?

The sender thread observes every live bar's count each time it composes (it snapshots them
anyway), so the user's thread does no work for this. Pure: the clock value is passed in.
"""

from __future__ import annotations

from collections.abc import Mapping

from ._views import Stall

STEPS = 10  # a stall is at least this many usual steps without progress


class Progress:
    """When the live bars last advanced: any count changing, a bar starting or one ending."""

    def __init__(self, now: float) -> None:
        self._counts: dict[int, float] = {}
        self.advanced = now

    def observe(self, counts: Mapping[int, float], now: float) -> None:
        """Note the live bars' counts (bar key -> ``n``) as seen at ``now``."""
        if counts != self._counts:
            self._counts = dict(counts)
            self.advanced = now


def threshold(stall_after: float, usual_step: float | None) -> float | None:
    """Seconds without progress that make a stall (None: detection is off)."""
    if not stall_after > 0:
        return None
    if usual_step is not None and usual_step > 0:
        return max(stall_after, STEPS * usual_step)
    return stall_after


def stalled(
    advanced: float, now: float, stall_after: float, usual_step: float | None
) -> Stall | None:
    """A :class:`Stall` when nothing advanced since ``advanced`` for too long, else None."""
    limit = threshold(stall_after, usual_step)
    idle = now - advanced
    if limit is None or not idle > limit:
        return None
    return Stall(idle, usual_step)


def usual_step(rate: float | None) -> float | None:
    """Seconds per unit from a bar's rate (units per second), None when unknown."""
    if rate is None or not rate > 0 or rate == float("inf"):
        return None
    return 1.0 / rate

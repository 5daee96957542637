"""When the next status post may go: the pacing policy, apart from the thread that posts.

Pure: no thread, no I/O, no clock of its own (every decision takes ``now``).
"""

from __future__ import annotations

import random

BACKOFF_BASE = 1.0
BACKOFF_CAP = 30.0


def backoff(failures: int) -> float:
    """Seconds before the next try after ``failures`` in a row: 1, 2, 4 … 30, each ±20 %."""
    return float(
        min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(failures - 1, 0)) * random.uniform(0.8, 1.2)
    )

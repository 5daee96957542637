"""What a status says about progress, read back from its elements: ``vhtqdm watch --json``.

The composer (``_compose``) writes the job's gauge as ``job 58% · ETA 2:14:05 · elapsed 1:18:00``
(``job 58% · stalled · …`` while stalled), a bar as ``train 412/1875 · 38.20it/s · ETA 00:40``, a
stall as ``stalled for 6 min at …``, a charted metric as ``train loss 0.473 · nan at step 60 ·
min 0.4589 · max 2.371`` (then its sparkline; ``loss nan since step 412`` while not finite) and
the other values as one last line ``acc 0.9 · lr 0.001``. This reads those back. Pure and total:
any status, vhtqdm's or not, gives a valid record (JSON with finite numbers), never an exception.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from .api import ENDED
from .render import Element, Gauge, Plain, Sparkline, Text, parse

SEP = " \u00b7 "  # between the pieces of a label or a line, as the composer joins them
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_NON_FINITE = r"nan|inf|-inf"
_VALUE = rf"{_NUMBER}|{_NON_FINITE}"
_JOB = re.compile(r"job \d{1,3}%")
_CLOCK = re.compile(r"(?:(\d{1,6}) days?, )?(\d{1,12}):(\d{2})(?::(\d{2}))?")  # [D days, ][H:]MM:SS
_HEAD = re.compile(rf"(?P<name>.+?) (?P<value>{_VALUE})(?: since step (?P<step>{_NUMBER}))?")
_TOLD = re.compile(rf"(?:{_NON_FINITE}) (?:at step (?P<step>{_NUMBER})|before)")
_EXTREME = re.compile(rf"(?P<which>min|max) (?P<value>{_NUMBER})")  # "min 0.12", "max 2.75"
_PAIR = re.compile(r"(?P<name>.+) (?P<value>\S+)")
_NOT_METRICS = ("stalled for ", "Failed", "Interrupted", "Stopped")  # lines a milestone follows


@dataclass(frozen=True)
class Series:
    """A metric as the status states it: latest value (None when not a finite number), the
    run's extremes (None until the line shows them) and the step of its first NaN or inf."""

    latest: float | None
    low: float | None = None
    high: float | None = None
    non_finite_step: float | None = None


@dataclass(frozen=True)
class Progress:
    """The job's progress as its status tells it."""

    fraction: float | None  # the job gauge's, else the outermost gauge's; None without gauges
    eta: float | None  # seconds left, from the same gauge's ``ETA [H:]MM:SS``
    eta_text: str  # that ETA as written (``2:14:05``), "" when none
    eta_index: int | None  # the element that told the ETA
    stalled: bool
    metrics: dict[str, Series]


def number(text: str) -> float | None:
    """A finite number from its text (an int when whole), else None."""
    try:
        value = float(text)
    except (ValueError, OverflowError):
        return None
    if not math.isfinite(value):
        return None
    return int(value) if value.is_integer() and abs(value) < 1e15 else value


def clock_seconds(text: str) -> float | None:
    """Seconds from tqdm's ``[H:]MM:SS`` (or ``D days, H:MM:SS``); None for anything else."""
    match = _CLOCK.fullmatch(text.strip())
    if not match:
        return None
    days, first, second, third = match.groups()
    hours, minutes, secs = (0, first, second) if third is None else (first, second, third)
    return float(int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + int(secs))


def _is_job(element: Element) -> bool:
    """Whether ``element`` is the whole job's gauge (``job 58% · …``)."""
    return isinstance(element, Gauge) and bool(_JOB.fullmatch(element.label.split(SEP)[0]))


def _eta(gauge: Gauge) -> str:
    """The ETA a gauge's label tells (``2:14:05``), or ""."""
    for part in gauge.label.split(SEP):
        if part.startswith("ETA ") and clock_seconds(part[4:]) is not None:
            return part[4:]
    return ""


def _metric(text: str, strict: bool) -> tuple[str, Series] | None:
    """A charted metric's line as its name and series; None when ``text`` is not one.

    After the name and latest value (``since step N`` while not finite) come, each optional,
    ``nan at step N`` and ``min X · max Y`` (both or neither). ``strict`` (no sparkline follows)
    asks for one of those, so a milestone such as ``epoch 3`` is no metric.
    """
    head, *rest = text.split(SEP)
    match = _HEAD.fullmatch(head)
    if match is None:
        return None
    told = match.group("step")
    said = _TOLD.fullmatch(rest[0]) if rest else None
    if said is not None:
        told = said.group("step") or told
        rest = rest[1:]
    low = high = None
    if rest:
        extremes = [_EXTREME.fullmatch(part) for part in rest]
        if len(rest) != 2 or extremes[0] is None or extremes[1] is None:
            return None
        if (extremes[0].group("which"), extremes[1].group("which")) != ("min", "max"):
            return None
        low, high = number(extremes[0].group("value")), number(extremes[1].group("value"))
    if strict and said is None and low is None and high is None and match.group("step") is None:
        return None
    step = number(told) if told is not None else None
    return match.group("name"), Series(number(match.group("value")), low, high, step)


def _summary(text: str) -> dict[str, Series]:
    """The last line's ``name value`` pairs whose value is a number (others are not metrics)."""
    pairs = [_PAIR.fullmatch(part) for part in text.split(SEP)]
    if any(pair is None for pair in pairs):
        return {}
    found: dict[str, Series] = {}
    for pair in pairs:
        if pair is not None and re.fullmatch(_VALUE, pair.group("value")):
            found.setdefault(pair.group("name"), Series(number(pair.group("value"))))
    return found


def _follows_bars(elements: Sequence[Element], index: int) -> bool:
    """Whether the line at ``index`` comes after bars or metrics (where the values' summary
    goes), not after a stall or ending line or alone (where a milestone goes)."""
    if index == 0:
        return False
    before = elements[index - 1]
    if isinstance(before, (Gauge, Sparkline)):
        return True
    return isinstance(before, Text) and not before.text.startswith(_NOT_METRICS)


def read(elements: Sequence[Element]) -> Progress:
    """The progress a status's elements tell (see the module's docstring for the forms read)."""
    gauges = [(i, e) for i, e in enumerate(elements) if isinstance(e, Gauge)]
    job = next(((i, g) for i, g in gauges if _is_job(g)), None)
    source = job or (gauges[0] if gauges else None)
    stalled = (job is not None and "stalled" in job[1].label.split(SEP)) or any(
        isinstance(e, Text) and e.color == "warn" and e.text.startswith("stalled for ")
        for e in elements
    )
    eta_text = _eta(source[1]) if source is not None and not stalled else ""
    metrics: dict[str, Series] = {}
    for index, element in enumerate(elements):
        if not isinstance(element, Text):
            continue
        charted = index + 1 < len(elements) and isinstance(elements[index + 1], Sparkline)
        found = _metric(element.text, strict=not charted)
        if found is not None:
            metrics.setdefault(found[0], found[1])
        elif (
            index == len(elements) - 1 and element.color is None and _follows_bars(elements, index)
        ):
            for name, series in _summary(element.text).items():
                metrics.setdefault(name, series)
    return Progress(
        fraction=round(source[1].fraction, 6) if source is not None else None,
        eta=clock_seconds(eta_text) if eta_text else None,
        eta_text=eta_text,
        eta_index=source[0] if eta_text and source is not None else None,
        stalled=stalled,
        metrics=metrics,
    )


def ends_at(seen: datetime, eta: float | None) -> datetime | None:
    """When a job whose status said ``eta`` seconds left at ``seen`` (aware) should end, in UTC;
    None when unknown or beyond the calendar."""
    if eta is None:
        return None
    try:
        return (seen + timedelta(seconds=eta)).astimezone(timezone.utc)
    except (OverflowError, ValueError):
        return None


def element_record(element: Element) -> dict[str, Any]:
    """An element as JSON: its type and every field (``plain``: a line that is no element)."""
    if isinstance(element, Text):
        return {"type": "text", "text": element.text, "color": element.color}
    if isinstance(element, Gauge):
        return {"type": "gauge", "value": element.value, "min": element.min,
                "max": element.max, "label": element.label, "color": element.color}  # fmt: skip
    if isinstance(element, Sparkline):
        return {"type": "sparkline", "values": list(element.values), "color": element.color}
    assert isinstance(element, Plain)
    return {"type": "plain", "text": element.text}


@dataclass(frozen=True)
class Reading:
    """One execution as last read: its REST object, its status's elements and their progress,
    and when that status was first seen (aware; its ETA counts from then)."""

    execution: Mapping[str, Any]
    elements: list[Element]
    progress: Progress
    seen: datetime

    @property
    def status(self) -> str:
        """Valohai's word for the execution (``started``, ``complete``…), "" when missing."""
        status = self.execution.get("status")
        return status if isinstance(status, str) else ""

    @property
    def ended(self) -> bool:
        """Whether the execution has ended (any outcome)."""
        return self.status in ENDED

    @property
    def ends(self) -> datetime | None:
        """When the job should end (UTC), from the ETA its status told."""
        return ends_at(self.seen, self.progress.eta)


def reading(execution: Mapping[str, Any], seen: datetime) -> Reading:
    """Read an execution's ``status_detail`` (any value: only a string has elements)."""
    detail = execution.get("status_detail")
    elements = parse(detail if isinstance(detail, str) else None)
    return Reading(execution, elements, read(elements), seen)


def record(reading: Reading) -> dict[str, Any]:
    """One execution's ``--json`` object (the README's table names its fields)."""
    execution, progress, ends = reading.execution, reading.progress, reading.ends
    counter, ident, status = (execution.get(key) for key in ("counter", "id", "status"))
    return {
        "counter": counter if isinstance(counter, int) and not isinstance(counter, bool) else None,
        "id": ident if isinstance(ident, str) else None,
        "status": status if isinstance(status, str) else None,
        "progress": progress.fraction,
        "eta_seconds": progress.eta,
        "finishes_at": utc_text(ends) if ends is not None else None,
        "stalled": progress.stalled,
        "metrics": {
            name: {
                "latest": s.latest,
                "min": s.low,
                "max": s.high,
                "non_finite_step": s.non_finite_step,
            }
            for name, s in progress.metrics.items()
        },
        "lines": [element_record(e) for e in reading.elements],
    }


def utc_text(moment: datetime) -> str:
    """A UTC time as ISO 8601 to the second: ``2025-03-01T21:40:05Z``."""
    return moment.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"

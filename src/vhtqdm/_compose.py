"""Pure functions from plain data (bars, metrics, notes) to one Valohai status text.

A status is lines; every line here is one rich element of valid, single-line JSON:
``{"type":"text"|"gauge"|"sparkline", ...}``. Nothing in this module does I/O, keeps state or
raises on odd input: any bar state and any values give a small, valid status.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import replace

from tqdm.std import tqdm as _std

from ._limits import MAX_BARS, MAX_BYTES, MAX_CHARTS, MAX_PHASES, MAX_POINTS
from ._text import clean, desc_text, evaluation, format_value
from ._views import (
    COMPLETE,
    EARLY,
    FAILED,
    INTERRUPTED,
    RUNNING,
    STOPPED,
    BarView,
    Ending,
    Job,
    MetricView,
    Milestone,
    Stall,
    finite,
)

OUTCOME_COLOR = {COMPLETE: "good", EARLY: "warn", FAILED: "bad", INTERRUPTED: "warn"}
NAME_CHARS = 32
TEXT_CHARS = 160


# -- text and numbers ---------------------------------------------------------------------------


def _round(value: float, digits: int = 4) -> int | float:
    """A compact JSON number: integers stay integers, floats keep ``digits`` significant digits."""
    value = float(value)  # an int has no is_integer() before Python 3.12
    if value.is_integer() and abs(value) < 1e15:
        return int(value)
    rounded = float(f"{value:.{digits}g}")
    return rounded if math.isfinite(rounded) else value  # 1.7976e308 rounds up to inf


def color(value: str | None) -> str | None:
    """A color as Valohai takes it (good, bad, warn or a CSS color), or None if unusable."""
    if value is None:
        return None
    text = clean(value, 32)
    return text or None


# -- elements -----------------------------------------------------------------------------------


def _dump(element: dict[str, object]) -> str:
    # ASCII-only JSON: no raw line separator (U+2028, NEL...) can split the line downstream.
    return json.dumps(element, ensure_ascii=True, allow_nan=False, separators=(",", ":"))


def text_line(text: str, color_: str | None = None) -> str:
    element: dict[str, object] = {"type": "text", "text": clean(text, TEXT_CHARS)}
    if color(color_):
        element["color"] = color(color_)
    return _dump(element)


def gauge_line(value: float, maximum: float, label: str, color_: str | None = None) -> str:
    element: dict[str, object] = {
        "type": "gauge",
        "value": _round(min(max(value, 0.0), maximum), 6),
        "min": 0,
        "max": _round(maximum, 6),
        "label": clean(label, TEXT_CHARS),
    }
    if color(color_):
        element["color"] = color(color_)
    return _dump(element)


def sparkline_line(points: Sequence[float], color_: str | None = None) -> str:
    values = [_round(p) for p in (finite(p) for p in points[-MAX_POINTS:]) if p is not None]
    element: dict[str, object] = {"type": "sparkline", "values": values}
    if color(color_):
        element["color"] = color(color_)
    return _dump(element)


# -- bars ---------------------------------------------------------------------------------------


def _duration(seconds: float) -> str:
    """tqdm's ``[H:]MM:SS``; ``?`` beyond a century (or when not finite)."""
    return str(_std.format_interval(seconds)) if 0 <= seconds < 3.2e9 else "?"


_SEP = "\x00"
_PIECES = _SEP.join(("{n_fmt}", "{total_fmt}", "{rate_fmt}", "{remaining}"))


def _pieces(bar: BarView) -> tuple[str, str, str, str, str] | None:
    """tqdm's own ``n_fmt``, ``total_fmt``, ``rate_fmt``, ``remaining`` and ``elapsed`` of ``bar``.

    Straight from ``tqdm.format_meter`` (and its ``format_interval``), so every count, unit
    scale, inverted rate (``2.00s/B``) and time reads exactly as on the terminal. No rate
    (``rate_fmt``) or ETA (``remaining``) is ``""``, also when tqdm cannot format them (an ETA
    beyond any clock); None when even the counts cannot be formatted.
    """
    n = bar.n if finite(bar.n) is not None else 0  # the bar's own type: tqdm prints 3 and 3.0
    total = bar.total if finite(bar.total) is not None else None
    rate = finite(bar.rate)
    scale = bar.unit_scale if finite(bar.unit_scale) is not None else bool(bar.unit_scale is True)
    unit = clean(bar.unit, 16) or "it"
    divisor = finite(bar.unit_divisor) or 1000

    def meter(rate: float | None) -> list[str]:
        # elapsed 0 without a rate: tqdm would derive one from it, and that is not ours to show.
        text = _std.format_meter(
            n, total, 0.0, unit=unit, unit_scale=scale or False, rate=rate,
            unit_divisor=divisor, bar_format=_PIECES,
        )  # fmt: skip
        return str(text).split(_SEP)

    try:
        elapsed = _duration(finite(bar.elapsed) or 0.0)
        try:
            if not (rate and rate > 0):
                raise ValueError("no rate")
            n_fmt, total_fmt, rate_fmt, remaining = meter(rate)
        except (ValueError, OverflowError, ZeroDivisionError):
            (n_fmt, total_fmt, *_), rate_fmt, remaining = meter(None), "", ""
    except Exception:  # an overflowing or odd value tqdm's formatters reject
        return None
    return n_fmt, total_fmt, rate_fmt.strip(), remaining, elapsed


def _has_total(bar: BarView) -> bool:
    """Whether tqdm shows ``n/total``: it drops a total the count has passed."""
    total, n = finite(bar.total), finite(bar.n) or 0.0
    return total is not None and total > 0 and n < total + 0.5


def _counts(bar: BarView, pieces: tuple[str, str, str, str, str] | None) -> str:
    """``412/1875`` (unit after it unless ``it``: ``3/10 epoch``, ``1.20k/3.40kB``) or ``412it``."""
    unit = clean(bar.unit, 16) or "it"
    n_fmt, total_fmt = pieces[:2] if pieces else ("?", "?")
    if _has_total(bar):
        if unit == "it":
            return f"{n_fmt}/{total_fmt}"
        return f"{n_fmt}/{total_fmt}{unit if bar.unit_scale is True else ' ' + unit}"
    return f"{n_fmt}{unit}"  # as tqdm shows a bar without a total


def bar_label(bar: BarView) -> str:
    """``train 412/1875 · 38.20it/s · ETA 00:40``, or ``… · in 00:12`` once ended: tqdm's pieces.

    Many ended bars of one kind are counted: ``file_*.parquet 3000 bars · in 01:02``.
    """
    if bar.runs > 1:
        runs = f"{bar.runs} bars \u00b7 in {_duration(finite(bar.elapsed) or 0.0)}"
        desc = desc_text(bar.desc)
        return f"{desc} {runs}" if desc else runs
    pieces = _pieces(bar)
    parts = [_counts(bar, pieces)]
    if pieces is not None:
        rate_fmt, remaining, elapsed = pieces[2:]
        if rate_fmt:
            parts.append(rate_fmt)
        total, n = finite(bar.total), finite(bar.n) or 0.0
        if bar.outcome != RUNNING:
            parts.append(f"in {elapsed}")
        elif remaining and total is not None and total > n:
            parts.append(f"ETA {remaining}")
    if bar.detail and bar.outcome != RUNNING:
        parts.append(clean(bar.detail, 40))
    desc = desc_text(bar.desc)
    label = " \u00b7 ".join(parts)
    return f"{desc} {label}" if desc else label


def bar_line(bar: BarView) -> str:
    """A gauge when the total is known, a text element otherwise."""
    shade = OUTCOME_COLOR.get(bar.outcome)
    total = finite(bar.total)
    if total is not None and total > 0:
        return gauge_line(finite(bar.n) or 0.0, total, bar_label(bar), shade)
    return text_line(bar_label(bar), shade)


def count_text(bar: BarView) -> str:
    """Where a bar stopped, for the failure line: ``412/1875`` or ``1234it`` (tqdm's counts)."""
    return _counts(bar, _pieces(bar))


# -- the whole status ---------------------------------------------------------------------------


def ending_line(kind: str, error: str, bars: Sequence[BarView]) -> str:
    """``Failed at train 412/1875: RuntimeError: CUDA out of memory`` (the innermost unfinished
    bar, named as the SIGTERM line names it)."""
    unfinished = [b for b in bars if b.outcome not in (RUNNING, COMPLETE)]
    where = f" at {_where(unfinished[-1])}" if unfinished else ""
    if kind == INTERRUPTED:
        return text_line(f"Interrupted{where}: {error}", "warn")
    return text_line(f"Failed{where}: {error}", "bad")


def _step(step: object) -> str:
    """``step 412``, or nothing when the step is unknown."""
    number = finite(step)
    return "" if number is None else f"step {_round(number, 6)}"


def metric_text(metric: MetricView) -> tuple[str, str | None]:
    """``loss 0.31 · nan at step 412 · min 0.12 · max 2.75`` and its color.

    The latest value not finite: ``loss nan since step 412`` in bad. Finite again, the first
    non-finite value is still told, in warn. Min and max show once they differ.
    """
    value = metric.value
    head = f"{clean(metric.name, NAME_CHARS) or '?'} {format_value(value)}"
    parts = [head]
    shade = None
    bad, where = metric.bad, _step(metric.bad_step)
    told = isinstance(bad, float) and finite(bad) is None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and finite(value) is None:
        shade = "bad"
        if told and where:
            parts = [f"{head} since {where}"]
    elif told:
        shade = "warn"
        parts.append(f"{format_value(bad)} at {where}" if where else f"{format_value(bad)} before")
    low, high = finite(metric.low), finite(metric.high)
    if low is not None and high is not None and low < high:
        parts.append(f"min {format_value(low)} \u00b7 max {format_value(high)}")
    return " \u00b7 ".join(parts), shade


def chart_rank(name: str) -> int:
    """Which curves people look at first: a loss, then an evaluation's loss, then the other
    evaluation metrics, then the rest (in the order they were first reported, within each)."""
    of_evaluation = evaluation(name)
    if "loss" in name.lower():
        return 1 if of_evaluation else 0
    return 2 if of_evaluation else 3


def metric_lines(metrics: Sequence[MetricView]) -> list[str]:
    """For each charted metric a text then its sparkline, ranked (``chart_rank``), at most
    ``MAX_CHARTS``; the rest share one summary line."""
    lines: list[str] = []
    rest: list[str] = []
    charted = sorted((m for m in metrics if m.charted), key=lambda m: chart_rank(m.name))
    metrics = [*charted, *(m for m in metrics if not m.charted)]
    for metric in metrics:
        if metric.charted and len(lines) < 2 * MAX_CHARTS:
            text, shade = metric_text(metric)
            lines.append(text_line(text, shade))
            if any(finite(point) is not None for point in metric.points):
                lines.append(sparkline_line(metric.points, "bad" if shade == "bad" else None))
        else:
            rest.append(f"{clean(metric.name, NAME_CHARS) or '?'} {format_value(metric.value)}")
    if rest:
        lines.append(text_line(" \u00b7 ".join(rest)))
    return lines


def job_line(job: Job, stalled: bool = False) -> str:
    """``job 37% · ETA 2:14:05 · elapsed 1:18:00``: the whole job as a gauge from 0 to 1."""
    fraction = min(max(finite(job.fraction) or 0.0, 0.0), 1.0)
    parts = [f"job {math.floor(fraction * 100):.0f}%"]
    if stalled:
        parts.append("stalled")
    elif job.eta is not None and fraction < 1:
        parts.append(f"ETA {_duration(job.eta)}")
    parts.append(f"elapsed {_duration(job.elapsed)}")
    return gauge_line(fraction, 1, " \u00b7 ".join(parts), "warn" if stalled else None)


def outer_line(bar: BarView, job: Job, stalled: bool = False) -> str:
    """The outermost bar of a job: filled by the job's fraction, with the job's ETA.

    An epoch bar otherwise sits at ``0/3`` with no ETA for the whole first epoch.
    """
    total = finite(bar.total)
    if total is None or total <= 0:
        return bar_line(bar)
    label = bar_label(replace(bar, rate=None))  # its own rate only moves once per epoch
    if not stalled and job.eta is not None and job.fraction < 1:
        label += f" \u00b7 ETA {_duration(job.eta)}"
    fraction = min(max(finite(job.fraction) or 0.0, 0.0), 1.0)
    return gauge_line(fraction * total, total, label)


def _for_people(seconds: float) -> str:
    """``45 s``, ``6 min``, ``2 h 05 min``: a stall's length at a glance."""
    if not 0 <= seconds < 3.2e9:
        return "?"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _where(bar: BarView) -> str:
    """``train 412/1875``: a bar's description and count."""
    desc = desc_text(bar.desc)
    return f"{desc} {count_text(bar)}" if desc else count_text(bar)


def stall_line(stall: Stall, bars: Sequence[BarView]) -> str:
    """``stalled for 6 min at train 412/1875 (usual step 0.3 s)`` in ``warn``."""
    text = f"stalled for {_for_people(stall.seconds)}"
    if bars:
        text += f" at {_where(bars[-1])}"
    step = finite(stall.usual_step)
    if step is not None and step > 0:
        text += f" (usual step {f'{step:.2g} s' if step < 60 else _for_people(step)})"
    return text_line(text, "warn")


_PHASE_WORD = {COMPLETE: "done", EARLY: "closed early", FAILED: "failed", INTERRUPTED: "stopped"}


def phase_line(bar: BarView) -> str:
    """A finished outermost bar, one line: ``train 32/32 · 3.10 it/s · in 00:10 · done``."""
    word = _PHASE_WORD.get(bar.outcome)
    label = bar_label(bar)
    return text_line(f"{label} \u00b7 {word}" if word else label, OUTCOME_COLOR.get(bar.outcome))


def stopped_line(bars: Sequence[BarView]) -> str:
    """``Stopped at train 412/1875`` in ``warn`` (the innermost unfinished bar): SIGTERM."""
    unfinished = [b for b in bars if b.outcome not in (RUNNING, COMPLETE)]
    return text_line(f"Stopped at {_where(unfinished[-1])}" if unfinished else "Stopped", "warn")


def compose(
    bars: Sequence[BarView],
    metrics: Sequence[MetricView] = (),
    milestone: Milestone | None = None,
    ending: Ending | None = None,
    *,
    job: Job | None = None,
    stall: Stall | None = None,
    phases: Sequence[BarView] = (),
) -> str:
    """The status text: the job, a stall, how it ended, the milestone, earlier phases, a line
    per bar, then the metrics.

    ``bars`` come outermost first; ``ending`` says how the job ended when not by itself;
    ``job`` is the whole job's progress (the outermost bar is its outer bar);
    ``stall`` says no bar advanced for too long (rates and ETAs are then left out); ``phases``
    are earlier outermost bars that ended, oldest first.
    """
    lines = []
    if stall is not None:
        bars = [replace(bar, rate=None) if bar.outcome == RUNNING else bar for bar in bars]
    if job is not None:
        lines.append(job_line(job, stall is not None))
    if stall is not None:
        lines.append(stall_line(stall, bars))
    if ending is not None:
        if ending.kind == STOPPED:
            lines.append(stopped_line(bars))
        else:
            lines.append(ending_line(ending.kind, ending.error, bars))
    if milestone is not None and clean(milestone.text, TEXT_CHARS):
        lines.append(text_line(milestone.text, milestone.color))
    lines.extend(phase_line(bar) for bar in phases[-MAX_PHASES:])
    shown = bars[:MAX_BARS]
    if job is not None and shown:
        lines.append(outer_line(shown[0], job, stall is not None))
        shown = shown[1:]
    lines.extend(bar_line(bar) for bar in shown)
    if len(bars) > MAX_BARS:
        lines.append(text_line(f"+{len(bars) - MAX_BARS} more bars"))
    lines.extend(metric_lines(metrics))
    while len(lines) > 1 and sum(len(line) + 1 for line in lines) > MAX_BYTES:
        lines.pop()  # ASCII only: characters are bytes
    return "\n".join(lines)


def ranks_line(member: tuple[int, int] | None, ranks: Sequence[tuple[int, BarView]]) -> str | None:
    """``member 2/4 · 8 ranks · slowest rank 3 at 398/1875 (\u221214)``, or None when alone.

    ``member`` is the zero-based ``(index, count)`` of a Valohai distributed member (shown
    one-based, as people count); ``ranks`` pairs each local rank with its outermost bar. The
    straggler is the rank with the smallest share done; the figure is its lag behind the fastest.
    """
    parts = []
    if member is not None:
        parts.append(f"member {member[0] + 1}/{member[1]}")
    if len(ranks) > 1:

        def done(item: tuple[int, BarView]) -> tuple[float, float, int]:
            n = finite(item[1].n) or 0.0
            total = finite(item[1].total)
            return (n / total if total and total > 0 else n), n, item[0]

        slowest = min(ranks, key=done)
        fastest = max(ranks, key=done)
        lag = (finite(fastest[1].n) or 0.0) - (finite(slowest[1].n) or 0.0)
        parts.append(f"{len(ranks)} ranks")
        if done(slowest)[:2] == done(fastest)[:2]:
            parts.append(f"all at {count_text(slowest[1])}")
        else:
            behind = f" (\u2212{_round(lag, 6)})" if lag > 0 else ""
            parts.append(f"slowest rank {slowest[0]} at {count_text(slowest[1])}{behind}")
    return text_line(" \u00b7 ".join(parts)) if parts else None

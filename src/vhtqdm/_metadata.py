"""Metadata: the numeric ``set_postfix`` values also printed as Valohai metadata (opt-in).

Valohai turns every line of stdout that is a JSON object into a metadata point, which its charts
plot. With ``metadata=True`` (or ``VHTQDM_METADATA=1``) a mirrored bar prints, from the thread that
called ``set_postfix`` (so it cannot tear a line that thread is writing), one such line with the
run's step and the values just given, at most once per status interval for a given set of keys.
The step never goes backwards: a bar re-created every epoch continues from where the previous
bar of that description ended (``epoch * batches + batch``), and ``epoch`` is added when an outer
bar runs; the whole job's progress (``job_progress``, 0-1) and ETA (``job_eta``, seconds) come
along when bars are nested. It is written through tqdm's ``external_write_mode``, so a bar drawn
on a terminal is cleared around it instead of being torn; there (only) the line starts with a
newline, as valohai-utils' do, so it begins a line even after a partial one; a log gets no empty
lines.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from . import _log
from ._words import falsy, truthy

if TYPE_CHECKING:
    from ._mirror import Mirror


def enabled(value: object, environ: Mapping[str, str] = os.environ) -> bool:
    """The ``metadata`` keyword, else ``VHTQDM_METADATA`` (off by default; bad values warn)."""
    if value is not None:
        return bool(value)
    raw = environ.get("VHTQDM_METADATA", "")
    if truthy(raw):
        return True
    if not falsy(raw):
        _log.warn_once(
            "env:VHTQDM_METADATA", f"ignoring VHTQDM_METADATA={raw[:40]!r}: not a valid value"
        )
    return False


def point(step: object, pairs: Iterable[tuple[Any, object]]) -> dict[str, object] | None:
    """``{"step": n, key: value…}`` with the finite numeric values; None when there is none."""
    from ._mirror import metric_value  # already loaded: only mirrored bars get here

    values: dict[str, object] = {}
    for key, raw in pairs:
        value = metric_value(raw)
        if isinstance(value, (int, float)) and math.isfinite(value):
            values[str(key)] = value
    if not values:
        return None
    return {"step": step, **values}


def global_step(bar: Any, mirror: Mirror) -> object:
    """The bar's step in the whole run (``Mirror.run_step``), never below the latest one printed
    for bars of its description (``bar.n = 0`` goes back; the step does not)."""
    from ._mirror import series_label  # already loaded: only mirrored bars get here

    key = series_label(getattr(bar, "desc", ""))
    step = mirror.run_step(bar, key)
    latest = mirror.metadata_steps.get(key)
    if isinstance(step, (int, float)):
        if latest is not None and step < latest:
            return latest
        mirror.metadata_steps[key] = step
    return step


def _drawn_on_terminal(bar: Any, out: Any) -> bool:
    """Whether ``out`` is a terminal that some bar draws on (so the cursor may be mid-line)."""
    try:
        if not out.isatty():
            return False
        streams = (sys.stdout, sys.stderr)
        return any(
            not getattr(other, "disable", True) and getattr(other, "fp", None) in streams
            for other in list(getattr(type(bar), "_instances", ()))
        )
    except Exception:
        return True  # unsure: a blank line is better than a torn one


def emit(bar: Any, mirror: Mirror, pairs: Iterable[tuple[Any, object]]) -> None:
    """Print ``pairs`` as one metadata line if this set of keys has not printed in this interval."""
    try:
        values = point(0, pairs)
        if values is None:
            return
        keys = frozenset(values)
        now = time.monotonic()
        if now < mirror.metadata_due.get(keys, -math.inf):
            return
        mirror.metadata_due[keys] = now + mirror.sender.interval
        del values["step"]
        data: dict[str, object] = {"step": global_step(bar, mirror)}
        epoch = mirror.outer_count(bar)
        if epoch is not None:
            data["epoch"] = epoch
        data.update(values)
        job = mirror.job  # as of the latest status
        if job is not None:
            data["job_progress"] = round(job.fraction, 4)
            if job.eta is not None:
                data["job_eta"] = round(job.eta)
        import json  # already loaded with the mirror; not at `import vhtqdm`

        out = sys.stdout
        if out is None:
            return
        start = "\n" if _drawn_on_terminal(bar, out) else ""
        line = start + json.dumps(data, ensure_ascii=True, separators=(",", ":")) + "\n"
        with type(bar).external_write_mode(file=out):
            out.write(line)  # one write: nothing of this thread can land inside the line
            out.flush()
    except Exception:  # metadata is a courtesy: never a failure in the user's loop
        pass

"""Metadata: the numeric ``set_postfix`` values also printed as Valohai metadata (opt-in).

Valohai turns every line of stdout that is a JSON object into a metadata point, which its charts
plot. With ``metadata=True`` (or ``VHTQDM_METADATA=1``) a mirrored bar prints, from the thread that
called ``set_postfix`` (so it cannot tear a line that thread is writing), one such line with the
bar's step and the values just given, at most once per status interval for a given set of keys.
Like valohai-utils, the line starts with a newline, so it begins a line even after a partial one,
and it is written through tqdm's ``external_write_mode``, so a bar drawn on a terminal is cleared
around it instead of being torn.
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


def emit(bar: Any, mirror: Mirror, pairs: Iterable[tuple[Any, object]]) -> None:
    """Print ``pairs`` as one metadata line if this set of keys has not printed in this interval."""
    try:
        data = point(bar.n, pairs)
        if data is None:
            return
        keys = frozenset(data)
        now = time.monotonic()
        if now < mirror.metadata_due.get(keys, -math.inf):
            return
        mirror.metadata_due[keys] = now + mirror.sender.interval
        import json  # already loaded with the mirror; not at `import vhtqdm`

        line = "\n" + json.dumps(data, ensure_ascii=True, separators=(",", ":")) + "\n"
        out = sys.stdout
        if out is None:
            return
        with type(bar).external_write_mode(file=out):
            out.write(line)  # one write: nothing of this thread can land inside the line
            out.flush()
    except Exception:  # metadata is a courtesy: never a failure in the user's loop
        pass

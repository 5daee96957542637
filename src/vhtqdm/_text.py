"""Text shared by the status and the command: one printable line, a value as people read it.

Pure and total: any object becomes a short, single-line, escape-free string.
"""

from __future__ import annotations

import math
import re

VALUE_CHARS = 40  # a postfix value shown as text
DESC_CHARS = 40  # a bar's description in a label

# A description's words that are numbers ("Epoch 3/10", "fold 2"): not part of the series' name.
_NUMERIC = re.compile(r"[\W_]*\d[\d\W_]*")

# Escape sequences (CSI, OSC, two-byte) as terminals and tqdm's `colour=` write them.
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")


def clean(text: object, limit: int) -> str:
    """One printable line of at most ``limit`` characters (no escapes, no line breaks)."""
    try:
        raw = text if isinstance(text, str) else str(text)
    except Exception:
        raw = "?"
    raw = _ANSI.sub("", raw[: limit * 8])
    # str.isprintable() is False for every line or paragraph separator, control character,
    # lone surrogate and ANSI remnant; they become spaces, then runs of spaces collapse.
    line = " ".join("".join(ch if ch.isprintable() else " " for ch in raw).split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "\u2026"


def desc_text(desc: object) -> str:
    """A bar's description as labels show it: ``"eval: "`` is ``eval``."""
    return clean(desc, DESC_CHARS + 2).rstrip(":").rstrip()


def series_label(desc: object) -> str:
    """The description that tells a bar's series apart: ``"eval: "`` is ``eval``, ``Epoch 3``
    is ``Epoch``.

    Numbers are left out so that a bar re-described or re-created each epoch keeps one series.
    """
    return " ".join(word for word in desc_text(desc).split() if not _NUMERIC.fullmatch(word))


_DIGITS = re.compile(r"\d+")
_WORD = re.compile(r"[A-Za-z]+")
# Words of a key or description that say "an evaluation" (val_loss, eval_accuracy, test/acc).
_EVALUATION = frozenset({"val", "valid", "validation", "eval", "evaluation", "test", "testing"})


def evaluation(*texts: str) -> bool:
    """Whether a description or key (``Validation DataLoader 0``, ``eval_f1``) is an
    evaluation's."""
    return any(word in _EVALUATION for word in _WORD.findall(" ".join(texts).lower()))


def desc_pattern(desc: object) -> str:
    """A description with its numbers as ``*``: ``file_2996.parquet`` is ``file_*.parquet``, so
    bars made one per file, shard or fold are seen as one kind."""
    return _DIGITS.sub("*", desc_text(desc))


def format_value(value: object) -> str:
    """A postfix value as a short human string (4 significant digits for numbers)."""
    if isinstance(value, bool):
        return str(value)
    number = None
    if isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError:  # an int beyond float range: Decimal formats it without str(int)
            import decimal  # only for such ints: not on every first bar

            return format(decimal.Decimal(value), ".4g")
    if number is None:
        return clean(value, VALUE_CHARS)
    if math.isnan(number):
        return "nan"
    if math.isinf(number):
        return "inf" if number > 0 else "-inf"
    return f"{number:.4g}"

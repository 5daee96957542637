"""The one channel vhtqdm speaks through: the ``vhtqdm`` logger, once per topic, never a secret.

Logging rather than :mod:`warnings`: a warning filter set to ``error`` (pytest ``-W error``) would
turn our notice into an exception inside the user's loop; a log record cannot.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
import threading
from collections.abc import Iterable

from tqdm.std import tqdm as std_tqdm

logger = logging.getLogger("vhtqdm")

_said: set[str] = set()
_secrets: tuple[str, ...] = ()
# Held while a message is written (tqdm's and logging's locks are taken then): the process's
# before-fork hook takes it too, so a forked child never inherits those locks held by a thread
# it does not have. Never waited on for long: a message that cannot get it within a second is lost.
output = threading.RLock()


def set_secrets(secrets: Iterable[str]) -> None:
    """Remember strings (tokens, query values) that must never reach any output.

    Each in every form a URL or a log line may carry it: as given, percent-encoded
    (``quote``, with and without ``/`` kept), plus-encoded (``quote_plus``) and decoded
    (``unquote``, ``unquote_plus``).
    """
    global _secrets
    from urllib.parse import quote, quote_plus, unquote, unquote_plus

    forms: set[str] = set()
    for secret in secrets:
        for form in (secret, unquote(secret), unquote_plus(secret)):
            forms.update((form, quote(form), quote(form, safe=""), quote_plus(form)))
    # Longest first, so a secret containing another is masked whole.
    _secrets = tuple(sorted({s for s in forms if len(s) >= 4}, key=len, reverse=True))


def redact(text: str) -> str:
    """Mask every known secret in ``text`` (percent escapes in either case)."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, "***")
        elif "%" in secret:
            text = re.sub(re.escape(secret), "***", text, flags=re.IGNORECASE)
    return text


def warn_once(topic: str, message: str) -> None:
    """Log ``message`` as a warning the first time ``topic`` comes up in this process.

    With no logging configured, Python would print it wherever the cursor is: in the middle of a
    progress bar's line. Then it goes through ``tqdm.write``, on a line of its own above the bars.
    A handler or stream that raises (a log sink that is down) loses the notice, never the job.
    """
    if topic in _said:
        return
    _said.add(topic)
    if not output.acquire(timeout=1.0):
        return
    try:
        text = redact(message)
        if logger.isEnabledFor(logging.WARNING) and not logger.hasHandlers():
            with contextlib.suppress(Exception):
                if sys.stderr is not None:
                    # tqdm's class, not ours: the same class-wide lock and bars, no import cycle.
                    std_tqdm.write(f"vhtqdm: {text}", file=sys.stderr)
                    return
        logger.warning("vhtqdm: %s", text)
    except Exception:
        pass
    finally:
        output.release()


def info_once(topic: str, message: str) -> None:
    """Log ``message`` at info level the first time ``topic`` comes up in this process."""
    if topic in _said:
        return
    _said.add(topic)
    if not output.acquire(timeout=1.0):
        return
    try:  # as in warn_once: a raising handler loses the notice
        logger.info("vhtqdm: %s", redact(message))
    except Exception:
        pass
    finally:
        output.release()


class _Redact(logging.Filter):
    """Masks our secrets in records of the HTTP stack's loggers (urllib3 logs URLs at DEBUG)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _secrets:
            message = record.getMessage()
            masked = redact(message)
            if masked != message:
                record.msg, record.args = masked, None
        return True


_REDACT = _Redact()
LIBRARY_LOGGERS = (
    "urllib3.connectionpool",
    "urllib3.connection",
    "urllib3.poolmanager",
    "urllib3.response",
    "urllib3.util.retry",
    "requests",
)


def guard_library_logs() -> None:
    """Attach the redaction filter to the loggers of requests and urllib3 (idempotent)."""
    for name in LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        if _REDACT not in library.filters:
            library.addFilter(_REDACT)


def reset() -> None:
    """Forget everything said and every secret (a fresh mirror in tests)."""
    global _secrets
    _said.clear()
    _secrets = ()

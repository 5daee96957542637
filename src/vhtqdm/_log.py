"""The one channel vhtqdm speaks through: the ``vhtqdm`` logger, once per topic, never a secret.

Logging rather than :mod:`warnings`: a warning filter set to ``error`` (pytest ``-W error``) would
turn our notice into an exception inside the user's loop; a log record cannot.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

logger = logging.getLogger("vhtqdm")

_said: set[str] = set()
_secrets: tuple[str, ...] = ()


def set_secrets(secrets: Iterable[str]) -> None:
    """Remember strings (tokens, query values) that must never reach any output."""
    global _secrets
    # Longest first, so a secret containing another is masked whole.
    _secrets = tuple(sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True))


def redact(text: str) -> str:
    """Mask every known secret in ``text``."""
    for secret in _secrets:
        text = text.replace(secret, "***")
    return text


def warn_once(topic: str, message: str) -> None:
    """Log ``message`` as a warning the first time ``topic`` comes up in this process."""
    if topic in _said:
        return
    _said.add(topic)
    logger.warning("vhtqdm: %s", redact(message))


def info_once(topic: str, message: str) -> None:
    """Log ``message`` at info level the first time ``topic`` comes up in this process."""
    if topic in _said:
        return
    _said.add(topic)
    logger.info("vhtqdm: %s", redact(message))


def forget(topic: str) -> None:
    """Allow ``topic`` to be said again (e.g. a failure after a recovery)."""
    _said.discard(topic)


def reset() -> None:
    """Forget everything said and every secret (a fresh mirror in tests)."""
    global _secrets
    _said.clear()
    _secrets = ()

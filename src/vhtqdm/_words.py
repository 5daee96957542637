"""The words every vhtqdm setting reads as yes or no (one set, so no two settings disagree)."""

from __future__ import annotations

TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off", "none", ""})


def truthy(value: str) -> bool:
    return value.strip().lower() in TRUE


def falsy(value: str) -> bool:
    return value.strip().lower() in FALSE

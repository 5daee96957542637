"""Fixtures of the alert tests: a stand-in webhook of each format, closed after the test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .hooks import Webhook


@pytest.fixture
def hook() -> Iterator[Webhook]:
    """A generic (JSON) stand-in webhook."""
    webhook = Webhook("json")
    yield webhook
    webhook.close()

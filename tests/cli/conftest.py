"""Fixtures of the command-line tests: a scripted Valohai REST API on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .api_server import ApiServer


@pytest.fixture
def api() -> Iterator[ApiServer]:
    srv = ApiServer()
    yield srv
    srv.close()

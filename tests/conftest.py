"""Fixtures: a recording status server, a Valohai config pointing at it, and subprocess runs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from vhtqdm import _process

from .server import StatusServer, write_api_json


@pytest.fixture(autouse=True)
def _fresh_process_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with no mirror and no Valohai config, as a new process would."""
    for name in list(os.environ):
        if name.startswith(("VHTQDM_", "VH_", "TQDM_")) or name in ("RANK", "LOCAL_RANK"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("VH_CONFIG_DIR", "/nonexistent/vhtqdm-test-config")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    _process.reset()
    yield
    _process.reset()


@pytest.fixture
def server() -> Iterator[StatusServer]:
    srv = StatusServer()
    yield srv
    srv.close()


@pytest.fixture
def valohai(server: StatusServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StatusServer:
    """A config dir whose api.json points at the recording server, active for this test."""
    config = tmp_path / "config"
    config.mkdir()
    write_api_json(config, server.url)
    monkeypatch.setenv("VH_CONFIG_DIR", str(config))
    return server


@pytest.fixture
def config_dir(server: StatusServer, tmp_path: Path) -> Path:
    """A config dir for subprocesses (the parent test process stays unconfigured)."""
    config = tmp_path / "config"
    config.mkdir()
    write_api_json(config, server.url)
    return config

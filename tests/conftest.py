"""Fixtures: a recording status server, a Valohai config pointing at it, and subprocess runs."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from vhtqdm import _process

from .helpers import clean_env
from .server import StatusServer, write_api_json


def pytest_configure(config: pytest.Config) -> None:
    """The signal dispositions the tests rely on, whatever the suite was started under.

    An ignored signal stays ignored across exec, and a blocked one stays blocked: started under
    ``nohup`` or by a runner that ignores SIGINT, every job would ignore Ctrl-C and the tests of
    it would fail. Python's own SIGINT handler here (reset to the default in each child at exec,
    where Python installs it again), the default SIGTERM and SIGHUP, none of them blocked. Runs
    in every process of the run (each xdist worker loads this file too).
    """
    signal.signal(signal.SIGINT, signal.default_int_handler)
    others = [getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)]
    for sig in others:
        if signal.getsignal(sig) == signal.SIG_IGN:
            signal.signal(sig, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):  # POSIX
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, *others})


@pytest.fixture(autouse=True)
def _fresh_process_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with no mirror, no Valohai config and no launcher's rank, as a new
    process of a plain job would (the environment of ``clean_env``, which jobs get too)."""
    wanted = clean_env(os.environ)
    for name in set(os.environ) - set(wanted):
        monkeypatch.delenv(name)
    for name, value in wanted.items():
        if os.environ.get(name) != value:
            monkeypatch.setenv(name, value)
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

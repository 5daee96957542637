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

try:
    import fcntl
except ImportError:  # not POSIX: no lock (nor the signals these tests depend on)
    fcntl = None  # type: ignore[assignment]


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


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``timing`` bound a job's wall-clock time within a fraction of a second, so
    they never run two at a time (``_one_timing_test_at_a_time``). With ``--dist loadgroup`` (nox)
    they also share one xdist worker, the largest group, handed out first, while the other
    workers run the rest. (pytest 9.2 drops the group xdist 3.8 writes into the node ID,
    pytest-xdist#1386: then the lock alone keeps them apart.)"""
    for item in items:
        if item.get_closest_marker("timing") is not None:
            item.add_marker(pytest.mark.xdist_group("timing"))


@pytest.fixture(autouse=True)
def _one_timing_test_at_a_time(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """Under pytest-xdist, a test marked ``timing`` holds a lock shared by every worker of the
    run (a file in their common base temp directory) while it runs, whatever the scheduling."""
    if request.node.get_closest_marker("timing") is None or fcntl is None:
        yield
        return
    if "PYTEST_XDIST_WORKER" not in os.environ:  # one process: one test at a time anyway
        yield
        return
    lock = tmp_path_factory.getbasetemp().parent / "timing.lock"
    with lock.open("a") as file:
        fcntl.flock(file, fcntl.LOCK_EX)  # released when the file closes
        yield


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

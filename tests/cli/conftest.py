"""Fixtures of the command-line tests: a scripted Valohai REST API on 127.0.0.1, and ``vhtqdm
watch`` run in this process on a fake clock (its sleeps return at once and are recorded)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo

import pytest

from vhtqdm import _cli
from vhtqdm._cli import watch as watch_command

from .api_server import ApiServer

ZONE = timezone(timedelta(hours=2))  # the viewer's time zone in these tests
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
START = datetime(2025, 3, 1, 19, 0, 0, tzinfo=timezone.utc)  # 21:00 in ZONE


@dataclass
class FakeClock:
    """Time that moves only when the watch sleeps; a watch that sleeps too often fails."""

    zone: tzinfo = ZONE
    start: datetime = START
    sleeps: list[float] = field(default_factory=list)
    most: int = 20

    def monotonic(self) -> float:
        return 1000.0 + sum(self.sleeps)

    def sleep(self, seconds: float) -> None:
        if len(self.sleeps) >= self.most:
            raise AssertionError(f"the watch slept {self.most} times and went on: {self.sleeps}")
        self.sleeps.append(seconds)

    def now(self) -> datetime:
        return self.start + timedelta(seconds=sum(self.sleeps))

    def clock(self) -> watch_command.Clock:
        return watch_command.Clock(self.monotonic, self.sleep, self.now, self.zone)


@dataclass
class Watched:
    code: int
    out: str
    err: str


class Watcher:
    """Runs ``vhtqdm watch ARGS`` in this process, as the command line would (its parser, its
    ``run``), on ``clock``; returns the exit code and what it printed."""

    def __init__(self, capsys: pytest.CaptureFixture[str], clock: FakeClock) -> None:
        self.capsys = capsys
        self.clock = clock

    def __call__(self, *args: str) -> Watched:
        self.capsys.readouterr()
        try:
            options = _cli.parser().parse_args(["watch", *args])
        except SystemExit as exc:  # a usage error, as argparse reports it
            code = int(exc.code or 0)
        else:
            code = watch_command.run(options, self.clock.clock())
        out, err = self.capsys.readouterr()
        return Watched(code, out, err)


@pytest.fixture(autouse=True)
def _no_valohai_cli_login(monkeypatch: pytest.MonkeyPatch) -> None:
    """No valohai-cli settings or variables of the machine running the tests."""
    for name in list(os.environ):
        if name.startswith("VALOHAI_") or name.upper() in PROXY_VARIABLES:
            monkeypatch.delenv(name)
    monkeypatch.setenv("VALOHAI_CONFIG_DIR", "/nonexistent/valohai-cli")


@pytest.fixture
def api() -> Iterator[ApiServer]:
    srv = ApiServer()
    yield srv
    srv.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def watch(capsys: pytest.CaptureFixture[str], clock: FakeClock) -> Watcher:
    return Watcher(capsys, clock)

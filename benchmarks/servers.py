"""Loopback status servers for the benchmarks, each with a Valohai config dir pointing at it.

The server is the test suite's recording ``StatusServer`` (``tests/server.py``): it answers at once,
after a delay (a slow API) or never (a hung one), and keeps every post with its arrival time.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.server import Answer, StatusServer, write_api_json

__all__ = ["Answer", "Site", "Sites"]


@dataclass
class Site:
    """One server and the config dir (``VH_CONFIG_DIR``) whose ``api.json`` points at it."""

    server: StatusServer
    config: Path


def _ignore(request: object, client_address: object) -> None:
    """Drop a request whose client went away."""


class Sites:
    """Opens servers on demand and closes them all (and removes their config dirs) on exit."""

    def __init__(self) -> None:
        self._root = Path(tempfile.mkdtemp(prefix="vhtqdm-bench-"))
        self._sites: list[Site] = []

    def open(self, name: str, answer: Answer | None = None) -> Site:
        server = StatusServer()
        # Clients here exit with requests in flight (figures 4 and 5 measure just that): the
        # server's default would print the traceback of every connection they broke.
        server.httpd.handle_error = _ignore  # type: ignore[method-assign]
        if answer is not None:
            server.answer = answer
        config = self._root / name
        config.mkdir()
        write_api_json(config, server.url)
        site = Site(server, config)
        self._sites.append(site)
        return site

    @property
    def nowhere(self) -> Path:
        """A config dir without api.json: off Valohai."""
        return self._root / "off-valohai"

    def __enter__(self) -> Sites:
        return self

    def __exit__(self, *exc: object) -> None:
        for site in self._sites:
            site.server.close()
        shutil.rmtree(self._root, ignore_errors=True)

"""The ``requests`` session ``vhtqdm watch`` asks Valohai's REST API with.

Apart from ``api.py`` because it imports ``requests`` (only a watch needs it, not pipe mode). It
sends exactly the headers it is given: no ``~/.netrc`` credentials, the environment's proxy except
for a loopback host, and no request or response line on stdout even when a program turned on
http.client's debugging (``HTTPConnection.debuglevel = 1``, requests' documented recipe), which
would print the ``Authorization: Token …`` header.
"""

from __future__ import annotations

from typing import Any

import requests
from requests.adapters import HTTPAdapter

# urllib3 ships with requests (a dependency of it), so these are not extra dependencies.
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from .._transport import environment_session


class _Quiet:
    """Mixed into a connection: its ``debuglevel`` is always 0, whatever is set on it or its
    classes, so http.client never prints what is sent (the token) or received."""

    @property
    def debuglevel(self) -> int:
        return 0

    @debuglevel.setter
    def debuglevel(self, level: int) -> None:
        """``set_debuglevel()`` and assignments are ignored."""


class QuietHTTPConnection(_Quiet, HTTPConnection):
    """urllib3's plain connection, never printing debug output."""


class QuietHTTPSConnection(_Quiet, HTTPSConnection):
    """urllib3's TLS connection (and proxy tunnel), never printing debug output."""


class _QuietHTTPPool(HTTPConnectionPool):
    """A pool of quiet plain connections."""

    ConnectionCls = QuietHTTPConnection


class _QuietHTTPSPool(HTTPSConnectionPool):
    """A pool of quiet TLS connections."""

    ConnectionCls = QuietHTTPSConnection


_POOLS = {"http": _QuietHTTPPool, "https": _QuietHTTPSPool}


class QuietAdapter(HTTPAdapter):
    """requests' adapter whose pools, direct or through a proxy, use the quiet connections."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        """The direct pools: quiet."""
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        """The pools through ``proxy`` (and its CONNECT tunnel): quiet too."""
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _POOLS
        return manager


def quiet_session(base: str, loopback: bool) -> requests.Session:
    """A session for the API at ``base``: credentials only as given, never printed; no proxy for
    a ``loopback`` host (a proxy must not intercept a local ``vhtqdm preview``)."""
    session = environment_session(base)
    if loopback:
        session.proxies.clear()
    adapter = QuietAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session

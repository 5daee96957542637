"""The ``requests`` session ``vhtqdm watch`` asks Valohai's REST API with.

Apart from ``api.py`` because it imports ``requests`` (only a watch needs it, not pipe mode). It
is the library's own (``_transport.environment_session``): exactly the headers it is given, no
``~/.netrc`` credentials, connections that never print a request even when a program turned on
http.client's debugging (which would print the ``Authorization: Token …`` header); and no proxy
for a loopback host.
"""

from __future__ import annotations

import requests

from .._transport import environment_session


def quiet_session(base: str, loopback: bool) -> requests.Session:
    """A session for the API at ``base``: credentials only as given, never printed; no proxy for
    a ``loopback`` host (a proxy must not intercept a local ``vhtqdm preview``)."""
    session = environment_session(base)
    if loopback:
        session.proxies.clear()
    return session

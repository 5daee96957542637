"""One HTTP request per status, classified into what the sender should do next.

The only module that touches the network (through one ``requests.Session``). It never raises and
never lets a URL or a header into the text it returns.
"""

from __future__ import annotations

import email.utils
import json
import math
import os
import time
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter

# urllib3 ships with requests (a dependency of it), so these are not extra dependencies.
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util import Timeout

from . import _tricks
from ._config import Endpoint
from ._throttle import DROP, OK, REFUSED, RETRY, Result

__all__ = [
    "Answer",
    "BoundedAdapter",
    "Transport",
    "bounded_request",
    "classify",
    "environment_session",
    "retry_after",
]

CONNECT_TIMEOUT = 3.05
READ_TIMEOUT = 10.0
TOTAL_TIMEOUT = 15.0
RETRY_AFTER_CAP = 60.0
MAX_ANSWER = 1 << 16  # bytes of an answer read (a rate limit's JSON, or a drained reply)
_RETRYABLE = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class Answer:
    """What a server answered: its status code, ``Retry-After`` header and the body's start."""

    status: int
    retry_after: str | None
    body: bytes


def bounded_request(
    session: requests.Session,
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    *,
    timeout: float = TOTAL_TIMEOUT,
) -> Answer | Result:
    """One request whose connecting, sending and reading the answer take at most ``timeout``
    (at most ``TOTAL_TIMEOUT``; the name lookup is the resolver's to bound), never redirected
    (a redirect would carry the token or the webhook's body elsewhere). A Result when no answer
    came: RETRY for a connection error or a timeout, DROP for anything else; never raises."""
    total = min(TOTAL_TIMEOUT, timeout)
    limit = Timeout(connect=min(CONNECT_TIMEOUT, total), read=min(READ_TIMEOUT, total), total=total)
    _tricks.set_deadline(time.monotonic() + total)
    try:
        response = session.request(
            method,
            url,
            headers=headers,
            data=body,
            timeout=limit,  # type: ignore[arg-type]  # requests passes it on to urllib3
            allow_redirects=False,
            stream=True,
        )
    except (requests.ConnectionError, requests.Timeout) as exc:
        _tricks.set_deadline(None)
        return Result(RETRY, type(exc).__name__)
    except Exception as exc:  # any other failure loses this request, never the job
        _tricks.set_deadline(None)
        return Result(DROP, type(exc).__name__)
    try:  # read a small answer whole, so the connection is reused
        start = response.raw.read(MAX_ANSWER, decode_content=True) or b""
    except Exception:
        start = b""
    finally:
        response.close()
        _tricks.set_deadline(None)
    return Answer(response.status_code, response.headers.get("Retry-After"), start)


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date), capped."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), RETRY_AFTER_CAP)


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _tricks.bounded_connection(HTTPConnection)


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _tricks.bounded_connection(HTTPSConnection)


class BoundedAdapter(HTTPAdapter):
    """requests' adapter whose pools (direct or through a proxy) read every answer within the
    request's total bound and never print a request (``_tricks.bounded_connection``)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
        return manager


def environment_session(url: str) -> requests.Session:
    """A session that sends exactly the headers it is given, never credentials from elsewhere.

    requests' ``trust_env`` also reads ``~/.netrc``, whose password would replace api.json's
    ``Authorization`` header. Of the environment only what it says about the network is kept:
    the proxy for ``url`` (``HTTPS_PROXY``, ``HTTP_PROXY``, ``NO_PROXY``) and a CA bundle
    (``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``). Its connections never print a request
    (``http.client``'s debug output would show the token).
    """
    session = requests.Session()
    session.trust_env = False
    adapter = BoundedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.proxies.update(requests.utils.get_environ_proxies(url))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    return session


class Transport:
    """Posts ``{"status_detail": text}`` to the endpoint, with bounded timeouts.

    The request carries exactly api.json's headers: the session takes no credentials from the
    environment (``~/.netrc``), only its proxy for the URL and CA bundle (``environment_session``).
    """

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self._session = environment_session(endpoint.url)
        self._headers = {"Content-Type": "application/json", **endpoint.headers}

    def __repr__(self) -> str:
        return f"Transport({self.endpoint!r})"

    def post(self, text: str, timeout: float = TOTAL_TIMEOUT) -> Result:
        """Send one status within ``timeout`` (``bounded_request``)."""
        body = json.dumps({"status_detail": text}, ensure_ascii=True).encode("ascii")
        answer = bounded_request(
            self._session,
            self.endpoint.method,
            self.endpoint.url,
            self._headers,
            body,
            timeout=timeout,
        )
        if isinstance(answer, Result):
            return answer
        return classify(answer.status, answer.retry_after)

    def close(self) -> None:
        self._session.close()


def classify(status: int, retry_after_header: str | None = None) -> Result:
    """Map an HTTP status code to the sender's next move."""
    detail = f"HTTP {status}"
    if 200 <= status < 300:
        return Result(OK, detail, status=status)
    if status in _RETRYABLE:
        return Result(RETRY, detail, retry_after(retry_after_header), status)
    if status in (401, 403):
        return Result(REFUSED, detail, status=status)
    return Result(DROP, detail, status=status)

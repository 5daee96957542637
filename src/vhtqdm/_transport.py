"""One HTTP request per status, classified into what the sender should do next.

The only module that touches the network (through one ``requests.Session``). It never raises and
never lets a URL or a header into the text it returns.
"""

from __future__ import annotations

import email.utils
import json
import math
import time
from dataclasses import dataclass

import requests
from urllib3.util import Timeout  # urllib3 ships with requests; its Timeout adds a total bound

from ._config import Endpoint

OK = "ok"
RETRY = "retry"  # 429, 502-504, connection errors: try again later with the newest status
DROP = "drop"  # other refusals: this status is lost, the next one may pass
STOP = "stop"  # 401/403: the token is refused, stop mirroring

CONNECT_TIMEOUT = 3.05
READ_TIMEOUT = 10.0
TOTAL_TIMEOUT = 15.0
RETRY_AFTER_CAP = 60.0
_RETRYABLE = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class Result:
    """What happened to one post; ``detail`` is safe to print (``HTTP 503``, ``ConnectTimeout``)."""

    kind: str
    detail: str = ""
    retry_after: float | None = None


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


class Transport:
    """Posts ``{"status_detail": text}`` to the endpoint, with bounded timeouts."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self._session = requests.Session()
        self._headers = {"Content-Type": "application/json", **endpoint.headers}

    def __repr__(self) -> str:
        return f"Transport({self.endpoint!r})"

    def post(self, text: str, timeout: float = TOTAL_TIMEOUT) -> Result:
        """Send one status; ``timeout`` bounds the whole request (connect + read)."""
        body = json.dumps({"status_detail": text}, ensure_ascii=True).encode("ascii")
        limit = Timeout(
            connect=min(CONNECT_TIMEOUT, timeout),
            read=min(READ_TIMEOUT, timeout),
            total=min(TOTAL_TIMEOUT, timeout),
        )
        try:
            response = self._session.request(
                self.endpoint.method,
                self.endpoint.url,
                headers=self._headers,
                data=body,
                timeout=limit,  # type: ignore[arg-type]  # requests passes it on to urllib3
                allow_redirects=False,  # never carry the token to another address
                stream=True,
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            return Result(RETRY, type(exc).__name__)
        except Exception as exc:  # any other failure loses this status, never the job
            return Result(DROP, type(exc).__name__)
        try:
            response.raw.read(1 << 16)  # drain a small answer so the connection is reused
        except Exception:
            pass
        finally:
            response.close()
        return classify(response.status_code, response.headers.get("Retry-After"))

    def close(self) -> None:
        self._session.close()


def classify(status: int, retry_after_header: str | None = None) -> Result:
    """Map an HTTP status code to the sender's next move."""
    detail = f"HTTP {status}"
    if 200 <= status < 300:
        return Result(OK, detail)
    if status in _RETRYABLE:
        return Result(RETRY, detail, retry_after(retry_after_header))
    if status in (401, 403):
        return Result(STOP, detail)
    return Result(DROP, detail)

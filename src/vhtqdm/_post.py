"""One bounded POST of an alert to its webhook, classified into what the alerts' sender does next.

The status's request (``_transport``) with another URL and body: the same session (the proxy and
CA bundle of the environment, never ``~/.netrc``), the same bounds (connect 3 s, read 10 s, 15 s
in all, a trickling answer cut by ``_tricks``), no redirect (it would carry the alert elsewhere),
and nothing of the URL in what it returns: the URL is the webhook's credential.

An answer is read as for a message, not for the newest state: every 5xx is tried again (a
bounded number of times, ``_alerts``), as are 429 (after its ``Retry-After``, or the
``retry_after`` seconds of Discord's JSON body) and connection errors; 401, 403, 404 and 410 say
the webhook is revoked or gone, so no alert is sent again; any other refusal loses that alert.
"""

from __future__ import annotations

import json

from ._throttle import DROP, OK, REFUSED, RETRY, Result
from ._transport import TOTAL_TIMEOUT, bounded_request, environment_session, retry_after

GONE = frozenset({401, 403, 404, 410})  # the webhook is revoked, deleted or archived


class Webhook:
    """Posts alert bodies to one webhook URL, each within the request's bounds."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._session = environment_session(url)
        self._headers = {"Content-Type": "application/json"}

    def __repr__(self) -> str:
        return "Webhook(…)"  # its URL is a secret

    def post(self, body: bytes, timeout: float = TOTAL_TIMEOUT) -> Result:
        """Send one alert within ``timeout`` (``bounded_request``)."""
        answer = bounded_request(
            self._session, "POST", self._url, self._headers, body, timeout=timeout
        )
        if isinstance(answer, Result):
            return answer
        return classify(answer.status, answer.retry_after, answer.body)

    def close(self) -> None:
        self._session.close()


def classify(status: int, retry_after_header: str | None = None, answer: bytes = b"") -> Result:
    """Map a webhook's answer to the alerts' next move."""
    detail = f"HTTP {status}"
    if 200 <= status < 300:
        return Result(OK, detail, status=status)
    if status == 429 or 500 <= status < 600:
        wait = retry_after(retry_after_header)
        if wait is None and status == 429:
            wait = body_retry_after(answer)
        return Result(RETRY, detail, wait, status)
    if status in GONE:
        return Result(REFUSED, detail, status=status)
    return Result(DROP, detail, status=status)


def body_retry_after(answer: bytes) -> float | None:
    """The seconds a 429's JSON body says to wait (Discord's ``{"retry_after": 0.5, …}``)."""
    try:
        data = json.loads(answer)
    except ValueError:
        return None
    value = data.get("retry_after") if isinstance(data, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return retry_after(repr(float(value)))

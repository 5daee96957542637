"""A loopback stand-in for Valohai's REST API, answering GET requests from scripts.

``routes`` maps an address (a path with its query: ``/api/v0/executions/?task=…``) to its answers,
one taken per request and the last one repeated: a JSON object (HTTP 200) or an HTTP error code.
Other addresses answer 404; a request without the token, 401. A request for an absolute URL
(sent to it as an HTTP proxy) is answered as if it came directly. ``seen`` records them all.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Union
from urllib.parse import urlsplit

API_TOKEN = "api-T0ken-never-printed-7f3e"
EXECUTION_ID = "0185c5e9-aaaa-bbbb-cccc-0123456789ab"
PROJECT_ID = "0185c5e9-1111-2222-3333-0123456789ab"
Answer = Union[dict[str, Any], int]  # a JSON object, or an HTTP error code


@dataclass(frozen=True)
class Seen:
    """One request: its address (path and query), its headers, its target as sent."""

    path: str
    headers: dict[str, str]
    target: str  # absolute (http://host/…) when it came through the stand-in as a proxy


class ApiServer(ThreadingHTTPServer):
    """The stand-in, serving on 127.0.0.1 from its creation until ``close()``."""

    daemon_threads = True

    def __init__(self, token: str = API_TOKEN) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.token = token
        self.routes: dict[str, list[Answer]] = {}
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def next_answer(self, path: str, headers: dict[str, str], target: str) -> Answer:
        """Record a request and take its answer."""
        with self.lock:
            self.seen.append(Seen(path, headers, target))
            script = self.routes.get(path) or [404]
            answer = script.pop(0) if len(script) > 1 else script[0]
        return answer if headers.get("Authorization") == f"Token {self.token}" else 401

    def close(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: ApiServer

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        answer = self.server.next_answer(path, dict(self.headers), self.path)
        code, data = (200, answer) if isinstance(answer, dict) else (answer, {"detail": "nope"})
        body = json.dumps(data).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def execution_route(execution_id: str = EXECUTION_ID) -> str:
    """Where the API answers with one execution."""
    return f"/api/v0/executions/{execution_id}/"


def execution(
    status: str,
    detail: str | None,
    counter: int = 42,
    execution_id: str = EXECUTION_ID,
    step: str = "train",
) -> dict[str, Any]:
    """An execution as Valohai's API returns it (the shape of valohai-cli's test fixtures)."""
    return {
        "id": execution_id,
        "counter": counter,
        "status": status,
        "status_detail": detail,
        "step": step,
        "project": {"name": "mnist", "id": PROJECT_ID},
        "commit": {"identifier": "abc123"},
        "task": None,
        "duration": 777,
        "url": f"https://app.valohai.com/api/v0/executions/{execution_id}/",
        "urls": {"display": f"https://app.valohai.com/p/test/mnist/execution/{execution_id}/"},
    }


def page(results: list[dict[str, Any]], next_url: str | None = None) -> dict[str, Any]:
    """A page of a list endpoint, as Valohai's API returns it."""
    return {"count": len(results), "next": next_url, "previous": None, "results": results}

"""A loopback stand-in for Valohai's REST API, answering from scripts.

``GET /api/v0/executions/{id}/`` takes the next answer of ``script`` (the last one repeats), so a
test can walk an execution from started to complete, or answer 401, 404, 503. ``routes`` scripts
other addresses the same way (a path with its query: ``/api/v0/executions/?task=…``). A request
through it as a proxy (an absolute URL) is answered as if it came directly.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

API_TOKEN = "api-T0ken-never-printed-7f3e"
EXECUTION_ID = "0185c5e9-aaaa-bbbb-cccc-0123456789ab"
PROJECT_ID = "0185c5e9-1111-2222-3333-0123456789ab"


@dataclass
class Reply:
    """One answer: a JSON object (an execution, a list page…) or an error code."""

    execution: dict[str, Any] | None = None
    code: int = 200


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    url: str = ""  # the request line's target as sent (absolute through a proxy)


@dataclass
class ApiServer:
    """Threaded loopback API; each script is consumed one answer per request."""

    execution_id: str = EXECUTION_ID
    script: list[Reply] = field(default_factory=list)
    routes: dict[str, list[Reply]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    token: str = API_TOKEN

    def __post_init__(self) -> None:
        outer = self
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                path = parts.path + (f"?{parts.query}" if parts.query else "")
                with lock:
                    outer.seen.append(Seen(path, dict(self.headers), self.path))
                    if path == f"/api/v0/executions/{outer.execution_id}/" and outer.script:
                        script = outer.script
                    else:
                        script = outer.routes.get(path, [Reply(code=404)])
                    reply = script.pop(0) if len(script) > 1 else script[0]
                if self.headers.get("Authorization") != f"Token {outer.token}":
                    reply = Reply(code=401)
                body = json.dumps(reply.execution or {"detail": "nope"}).encode()
                self.send_response(reply.code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


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

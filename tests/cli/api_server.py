"""A loopback stand-in for Valohai's REST API: ``GET /api/v0/executions/{id}/`` from a script.

Each request takes the next answer of the script (the last one repeats), so a test can walk an
execution from started to complete, or answer 401, 404, 503.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

API_TOKEN = "api-T0ken-never-printed-7f3e"


@dataclass
class Reply:
    """One answer: an execution (as JSON) or an error code."""

    execution: dict[str, Any] | None = None
    code: int = 200


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


@dataclass
class ApiServer:
    """Threaded loopback API; ``script`` is consumed one answer per request."""

    execution_id: str = "0185c5e9-aaaa-bbbb-cccc-0123456789ab"
    script: list[Reply] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        outer = self
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                with lock:
                    outer.seen.append(Seen(self.path, dict(self.headers)))
                    reply = outer.script.pop(0) if len(outer.script) > 1 else outer.script[0]
                if self.path != f"/api/v0/executions/{outer.execution_id}/":
                    reply = Reply(code=404)
                elif self.headers.get("Authorization") != f"Token {API_TOKEN}":
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


def execution(status: str, detail: str | None, counter: int = 42) -> dict[str, Any]:
    """An execution as Valohai's API returns it (the fields vhtqdm watch reads, and more)."""
    return {
        "id": "0185c5e9-aaaa-bbbb-cccc-0123456789ab",
        "counter": counter,
        "status": status,
        "step": "train",
        "project": {"name": "mnist", "id": "p-1"},
        "status_detail": detail,
        "commit": {"identifier": "abc123"},
    }

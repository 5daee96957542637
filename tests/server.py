"""A real HTTP server on 127.0.0.1 that plays Valohai's status endpoint and records every post.

It can answer slowly, hang, refuse with any status code (with headers such as Retry-After), or
follow a script of answers, so tests assert on what actually crossed the wire.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

TOKEN = "s3cr3t-T0ken-4b1d"  # what the fake api.json carries; must never be printed


@dataclass
class Post:
    """One request the server received."""

    at: float  # time.monotonic() when it arrived
    method: str
    path: str
    headers: dict[str, str]
    body: Any  # the decoded JSON body, or the raw text when it is not JSON

    @property
    def status(self) -> str:
        return str(self.body.get("status_detail", "")) if isinstance(self.body, dict) else ""

    @property
    def elements(self) -> list[dict[str, Any]]:
        """Every line of the status decoded as JSON (fails the test if a line is not JSON)."""
        return [json.loads(line) for line in self.status.split("\n") if line]

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.elements if e.get("type") == kind]

    def texts(self) -> list[str]:
        return [e["text"] for e in self.of_type("text")]


@dataclass
class Answer:
    """How to answer one request."""

    code: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False  # accept and never answer (until the server stops)
    trickle: bool = False  # answer a header line every half second, never finishing


class StatusServer:
    """Threaded loopback server; ``answer`` (or ``script``, consumed first) decides each reply."""

    def __init__(self, protocol: str = "HTTP/1.1") -> None:
        self.posts: list[Post] = []
        self.execution = f"e-{uuid.uuid4().hex[:12]}"
        self.answer = Answer()
        self.script: list[Answer] = []
        # Decides by the request's body before ``script`` and ``answer`` when it returns one.
        self.decide: Callable[[str], Answer | None] | None = None
        self.attempts = 0  # every request, answered or not
        self.log: list[tuple[float, int]] = []  # (arrival, answer code) of every request
        self._stop = threading.Event()
        self._cond = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = protocol  # "HTTP/1.0": every answer closes its connection
            disable_nagle_algorithm = True  # else each answer waits ~40 ms on a delayed ACK

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                outer._handle(self)

            do_PUT = do_PATCH = do_POST

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        # A short poll: close() (every test's teardown) waits for serve_forever to notice the
        # shutdown, half a second at the default interval.
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        """The status URL: one execution's, never another test's (a job a test left running,
        holding its execution's claim, must not meet a later server that got its port)."""
        return f"http://127.0.0.1:{self.port}/api/v0/executions/{self.execution}/status/"

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        with self._cond:
            self.attempts += 1
            decided = self.decide(raw.decode("utf-8", "replace")) if self.decide else None
            answer = decided or (self.script.pop(0) if self.script else self.answer)
            self.log.append((time.monotonic(), 0 if answer.hang or answer.trickle else answer.code))
        if answer.hang:
            self._stop.wait(60)
            return
        if answer.trickle:
            handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
            for _ in range(120):
                if self._stop.wait(0.5):
                    return
                try:
                    handler.wfile.write(b"X-Slow: 1\r\n")
                    handler.wfile.flush()
                except OSError:
                    return
            return
        if answer.delay:
            self._stop.wait(answer.delay)
        if 200 <= answer.code < 300:
            try:
                body: Any = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
            post = Post(
                time.monotonic(), handler.command, handler.path, dict(handler.headers), body
            )
            with self._cond:
                self.posts.append(post)
                self._cond.notify_all()
        payload = b'{"ok": true}' if answer.code < 300 else b'{"detail": "nope"}'
        try:
            handler.send_response(answer.code)
            for name, value in answer.headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (a delayed answer): its request is recorded

    def wait_for(self, predicate: Callable[[list[Post]], bool], timeout: float = 10.0) -> bool:
        """Block until ``predicate(posts)`` holds (True) or ``timeout`` passes (False)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(list(self.posts)):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.05))
            return True

    @property
    def last(self) -> Post | None:
        return self.posts[-1] if self.posts else None

    def close(self) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def write_api_json(directory: Any, url: str, token: str = TOKEN, **extra: Any) -> None:
    """A Valohai-like ``api.json`` whose ``set_status_detail`` entry points at ``url``."""
    entry = {"url": url, "method": "POST", "headers": {"Authorization": f"Token {token}"}}
    entry.update(extra)
    (directory / "api.json").write_text(json.dumps({"set_status_detail": entry}))

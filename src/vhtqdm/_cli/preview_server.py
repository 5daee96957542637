"""The local stand-in for Valohai that ``vhtqdm preview`` runs on 127.0.0.1.

Three faces of one record of status updates: the job-side endpoint (a token-protected POST, as
``api.json``'s ``set_status_detail`` describes it), the REST execution endpoint (``GET
/api/v0/executions/preview/``, so ``vhtqdm watch`` works against it) and a live page (static
assets plus ``/state.json``, which the page polls). A fourth: a stand-in webhook for the job's
alerts (``VHTQDM_ALERT_URL``, its key in the path as Slack's is; the JSON format), so the page
and the report show what the job would send, and nothing is sent anywhere. The standard
library's threading HTTP server is enough: one user, a few requests a second, loopback only.
"""

from __future__ import annotations

import hmac
import json
import secrets
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

EXECUTION_ID = "preview"
EXECUTION_PATH = f"/api/v0/executions/{EXECUTION_ID}/"
STATUS_PATH = f"{EXECUTION_PATH}status-detail/"
ALERTS_PATH = "/alerts/"
HISTORY = 50  # updates kept for the page's history
ALERTS = 50  # alerts kept (a run sends at most 21)
PAGE_UPDATES = 20  # updates sent to the page at most per poll
PAGE_WATCHING = 3.0  # a page that polled this recently (seconds) is open: it polls every 0.5 s
WATCH_LINGER = 10.0  # at most this long (seconds) for a `vhtqdm watch` to read how it ended
MAX_BODY = 256 * 1024
_REFUSED = object()  # a body refused for its length (the answer is sent)
ASSETS = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/preview.css": ("preview.css", "text/css; charset=utf-8"),
    "/preview.js": ("preview.js", "text/javascript; charset=utf-8"),
}
_SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # The page loads nothing from anywhere but this server, and runs no inline code.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "style-src 'self'; frame-ancestors 'none'",
}


@dataclass(frozen=True)
class Alert:
    """One alert the job sent (vhtqdm's JSON format): its number, arrival, what it says."""

    seq: int
    at: float
    event: str
    level: str
    title: str
    lines: tuple[str, ...]


def read_alert(body: object) -> tuple[str, str, str, tuple[str, ...]] | None:
    """The event, level, title and lines of an alert body, or None when it is not one."""
    if not isinstance(body, dict):
        return None
    event, level, title, lines = (body.get(k) for k in ("event", "level", "title", "lines"))
    if not all(isinstance(v, str) for v in (event, level, title)) or not isinstance(lines, list):
        return None
    return str(event), str(level), str(title), tuple(str(line) for line in lines)


@dataclass(frozen=True)
class Update:
    """One status the job posted: its number, when it arrived (epoch and monotonic), the text."""

    seq: int
    at: float
    clock: float
    status: str


class PreviewState:
    """Every status received, the command and how it ended; safe to share between threads."""

    def __init__(self, command: str) -> None:
        """A record for ``command`` (the shell-quoted command line the page shows)."""
        self.command = command
        self.run_id = secrets.token_hex(4)  # tells the page that a new run took over the port
        self.started = time.time()
        self.rejected = 0  # posts refused: bad token or a malformed body
        self._lock = threading.Lock()
        self._updates: deque[Update] = deque(maxlen=HISTORY)
        self._alerts: deque[Alert] = deque(maxlen=ALERTS)
        self._alert_count = 0
        self._count = 0
        self._gaps: deque[float] = deque(maxlen=10_000)  # seconds between consecutive updates
        self._exit_code: int | None = None
        self._ended: float | None = None
        self._polled = float("-inf")  # when a page last asked for the state (monotonic)
        self._end_shown = threading.Event()  # a page has been told how the command ended
        self._watched = float("-inf")  # when a REST reader (vhtqdm watch) last asked
        self._watch_gap = 0.0  # the time between its last two requests: its --interval
        self._end_watched = threading.Event()  # a REST reader has been told how it ended

    def record(self, status: str) -> Update:
        """Keep a status the job posted."""
        with self._lock:
            now = time.monotonic()
            if self._updates:
                self._gaps.append(now - self._updates[-1].clock)
            self._count += 1
            update = Update(self._count, time.time(), now, status)
            self._updates.append(update)
            return update

    def record_alert(self, event: str, level: str, title: str, lines: tuple[str, ...]) -> Alert:
        """Keep an alert the job sent."""
        with self._lock:
            self._alert_count += 1
            alert = Alert(self._alert_count, time.time(), event, level, title, lines)
            self._alerts.append(alert)
            return alert

    @property
    def alerts(self) -> list[Alert]:
        """The alerts received, oldest first (the newest ``ALERTS``)."""
        with self._lock:
            return list(self._alerts)

    def reject(self) -> None:
        """Count a refused post (a wrong token, a malformed body)."""
        with self._lock:
            self.rejected += 1

    def finish(self, exit_code: int) -> None:
        """The command ended with ``exit_code``: the execution's status follows from it."""
        with self._lock:
            self._exit_code = exit_code
            self._ended = time.time()

    def let_readers_see_the_end(self, timeout: float) -> None:
        """Linger while an open page (at most ``timeout`` s) or a `vhtqdm watch` (its interval,
        at most ``WATCH_LINGER`` s) has yet to read how the command ended."""
        now = time.monotonic()
        if now - self._polled < PAGE_WATCHING:
            self._end_shown.wait(timeout)
        # A reader seen only once has an interval yet unknown: it may be up to WATCH_LINGER.
        linger = min(self._watch_gap + 1.0, WATCH_LINGER) if self._watch_gap else WATCH_LINGER
        if now - self._watched < linger:
            self._end_watched.wait(linger)

    @property
    def count(self) -> int:
        """Statuses received so far."""
        return self._count

    @property
    def latest(self) -> Update | None:
        """The newest status, or None before the first."""
        with self._lock:
            return self._updates[-1] if self._updates else None

    @property
    def gaps(self) -> list[float]:
        """Seconds between consecutive statuses, as the server saw them arrive."""
        with self._lock:
            return list(self._gaps)

    @property
    def execution_status(self) -> str:
        """Valohai's word for the execution: started, complete, error or stopped (a signal)."""
        code = self._exit_code
        if code is None:
            return "started"
        if code == 0:
            return "complete"
        return "stopped" if code in (130, 137, 143) else "error"

    def execution(self) -> dict[str, Any]:
        """The execution as Valohai's REST API shows it (the fields vhtqdm watch reads)."""
        latest = self.latest
        with self._lock:
            now = time.monotonic()
            if self._watched > float("-inf"):
                self._watch_gap = now - self._watched
            self._watched = now
        if self._exit_code is not None:
            self._end_watched.set()
        return {
            "id": EXECUTION_ID,
            "counter": 1,
            "status": self.execution_status,
            "step": self.command,
            "project": {"name": "vhtqdm preview"},
            "status_detail": latest.status if latest else None,
        }

    def page_state(self, since: int) -> dict[str, Any]:
        """What the page needs after update ``since``: new updates, counts, the command state."""
        with self._lock:
            fresh = [u for u in self._updates if u.seq > since][-PAGE_UPDATES:]
            count, exit_code, ended = self._count, self._exit_code, self._ended
            self._polled = time.monotonic()
        if exit_code is not None:
            self._end_shown.set()
        return {
            "run": self.run_id,
            "command": self.command,
            "status": self.execution_status,
            "exit_code": exit_code,
            "started": self.started,
            "ended": ended,
            "now": time.time(),
            "count": count,
            "rejected": self.rejected,
            "updates": [{"seq": u.seq, "at": u.at, "status": u.status} for u in fresh],
            "alerts": [asdict(alert) for alert in self.alerts],
        }


def asset(name: str) -> bytes:
    """A file of the page, shipped as package data."""
    return (resources.files(__package__) / "assets" / name).read_bytes()


class _Handler(BaseHTTPRequestHandler):
    """Routes a request to the page, the job-side endpoint or the REST endpoint."""

    server: PreviewServer
    protocol_version = "HTTP/1.1"
    timeout = 30  # seconds a connection may sit idle or trickle a body (then it is closed)
    server_version = "vhtqdm-preview"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing: the command's own output owns the terminal."""

    def _send(self, code: int, body: bytes, content_type: str) -> None:
        """Answer with ``body`` and the security headers every answer carries."""
        self.send_response(code)
        for name, value in _SECURITY_HEADERS.items():
            self.send_header(name, value)
        if self.close_connection:  # the client must not send its next request here
            self.send_header("Connection", "close")
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, code: int, data: object) -> None:
        """Answer with ``data`` as JSON."""
        self._send(code, json.dumps(data).encode(), "application/json")

    def _json_body(self) -> object:
        """The request's JSON body (None when it is not JSON); ``_REFUSED`` once a body of no
        announced or too large a length has been refused."""
        length = self._length() if self.headers.get("Content-Length") else -1
        if not 0 <= length <= MAX_BODY:
            self.server.state.reject()
            self._refuse(413 if length > MAX_BODY else 411, {"detail": "Bad length."})
            return _REFUSED
        try:
            return json.loads(self.rfile.read(length))
        except ValueError:
            return None

    def _length(self) -> int:
        """The body's announced length; -1 when missing, malformed, or chunked."""
        if self.headers.get("Transfer-Encoding"):
            return -1
        try:
            return int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return -1

    def _refuse(self, code: int, data: object) -> None:
        """Answer ``code`` to a request whose body is not wanted.

        The body is read and dropped (when it is small enough) so that the next request on this
        keep-alive connection starts where it should; otherwise the connection is closed.
        """
        length = self._length()
        if 0 <= length <= MAX_BODY:
            self.rfile.read(length)
        else:
            self.close_connection = True
        self._json(code, data)

    def _host_ok(self) -> bool:
        """Whether the request names this server (else it is answered 421 here)."""
        # Only our own address may name us: a page elsewhere cannot rebind a DNS name to us.
        port = self.server.port
        if self.headers.get("Host") in (f"127.0.0.1:{port}", f"localhost:{port}"):
            return True
        self._refuse(421, {"detail": "Misdirected request."})
        return False

    def do_GET(self) -> None:
        """The page, its assets, ``/state.json`` and the REST execution endpoint."""
        if not self._host_ok():
            return
        parts = urlsplit(self.path)
        state = self.server.state
        if parts.path in ASSETS:
            name, content_type = ASSETS[parts.path]
            self._send(200, asset(name), content_type)
        elif parts.path == "/state.json":
            try:
                since = int(parse_qs(parts.query).get("since", ["0"])[0])
            except ValueError:
                since = 0
            self._json(200, state.page_state(since))
        elif parts.path == EXECUTION_PATH:
            self._json(200, state.execution())
        else:
            self._refuse(404, {"detail": "Not found."})

    do_HEAD = do_GET

    def do_POST(self) -> None:
        """The job-side endpoint: ``{"status_detail": text}`` with the right token; or an
        alert, to the stand-in webhook's path (its key in it)."""
        if not self._host_ok():
            return
        state = self.server.state
        path = urlsplit(self.path).path
        if path.startswith(ALERTS_PATH) and self.command == "POST":
            self._alert(path)
            return
        if path != STATUS_PATH:
            self._refuse(404, {"detail": "Not found."})
            return
        given = self.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, f"Token {self.server.token}".encode()):
            state.reject()
            self._refuse(401, {"detail": "Invalid token."})
            return
        body = self._json_body()
        if body is _REFUSED:
            return
        status = body.get("status_detail") if isinstance(body, dict) else None
        if not isinstance(status, str):
            state.reject()
            self._json(400, {"status_detail": ["A string is required."]})
            return
        state.record(status)
        self._json(200, {"status_detail": status})

    def _alert(self, path: str) -> None:
        """The stand-in webhook: an alert in vhtqdm's JSON format, to the path with the key."""
        state = self.server.state
        if not hmac.compare_digest(path.encode(), self.server.alert_path.encode()):
            state.reject()
            self._refuse(404, {"detail": "No such webhook."})
            return
        body = self._json_body()
        if body is _REFUSED:
            return
        alert = read_alert(body)
        if alert is None:
            state.reject()
            self._json(400, {"detail": "Not an alert in vhtqdm's JSON format."})
            return
        state.record_alert(*alert)
        self._json(200, {"ok": True})

    do_PUT = do_PATCH = do_POST


class PreviewServer(ThreadingHTTPServer):
    """The loopback server; ``start()`` serves from a daemon thread, ``close()`` stops it."""

    daemon_threads = True

    def __init__(self, state: PreviewState, port: int = 0) -> None:
        """Listen on 127.0.0.1:``port`` (0: any free port) with a fresh random token."""
        super().__init__(("127.0.0.1", port), _Handler)
        self.state = state
        self.token = secrets.token_urlsafe(24)
        self.alert_path = f"{ALERTS_PATH}{secrets.token_urlsafe(24)}/"
        self.port: int = self.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The page's address."""
        return f"http://127.0.0.1:{self.port}/"

    @property
    def status_url(self) -> str:
        """Where the job posts its status (the ``set_status_detail`` URL)."""
        return f"http://127.0.0.1:{self.port}{STATUS_PATH}"

    @property
    def alert_url(self) -> str:
        """The stand-in webhook the job's alerts go to (``VHTQDM_ALERT_URL``)."""
        return f"http://127.0.0.1:{self.port}{self.alert_path}"

    def api_json(self) -> dict[str, Any]:
        """A Valohai-like ``api.json`` pointing the job at this server."""
        entry = {
            "url": self.status_url,
            "method": "POST",
            "headers": {"Authorization": f"Token {self.token}"},
        }
        return {"set_status_detail": entry}

    def start(self) -> None:
        """Serve from a daemon thread."""
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        """Stop serving and release the port."""
        if self._thread is not None:
            self.shutdown()
        self.server_close()

"""Loopback stand-ins for Slack, Microsoft Teams, Discord and a generic webhook.

Each checks a request body as its service documents it and answers as it does: Slack ``200 ok``
(``400 invalid_payload`` otherwise), Discord ``204`` (``400`` with its JSON error; ``content`` at
most 2000 characters), a Teams workflow ``202`` (``400`` unless a message with an Adaptive Card
attachment), the generic one ``200``. The webhook's key is in its path, as Slack's and Discord's
are: a request to another path gets ``404``. Answers can be scripted (a 429 with ``Retry-After``
or Discord's ``retry_after`` body, a 5xx, a hang), as ``tests/server.py`` does for the status.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

KEY = "hk-S3cretW3bhookKey-9f8e7d"  # the webhook's key: in the URL's path, never printed
ADAPTIVE = "application/vnd.microsoft.card.adaptive"

Check = Callable[[Any], str]  # the body -> "" when valid, else why not


def slack(body: Any) -> str:
    """https://docs.slack.dev/messaging/sending-messages-using-incoming-webhooks"""
    if not isinstance(body, dict):
        return "invalid_payload"
    text, blocks = body.get("text"), body.get("blocks")
    if blocks is not None and not (
        isinstance(blocks, list) and all(isinstance(b, dict) and "type" in b for b in blocks)
    ):
        return "invalid_blocks"
    if not (isinstance(text, str) and text.strip()) and not blocks:
        return "no_text"
    return ""


def discord(body: Any) -> str:
    """https://discord.com/developers/docs/resources/webhook#execute-webhook"""
    if not isinstance(body, dict):
        return "50109: The request body contains invalid JSON."
    content = body.get("content")
    if not isinstance(content, str) or not content.strip():
        return "50006: Cannot send an empty message"
    if len(content) > 2000:
        return "50035: content: Must be 2000 or fewer in length."
    mentions = body.get("allowed_mentions")
    if mentions is not None and not isinstance(mentions.get("parse"), list):
        return "50035: allowed_mentions.parse"
    return ""


def teams(body: Any) -> str:
    """https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/
    connectors-using#send-adaptive-cards-using-an-incoming-webhook"""
    if not isinstance(body, dict) or body.get("type") != "message":
        return "the type must be message"
    attachments = body.get("attachments")
    if not isinstance(attachments, list) or not attachments:
        return "attachments must be a non-empty list"
    for attachment in attachments:
        card = attachment.get("content") if isinstance(attachment, dict) else None
        if attachment.get("contentType") != ADAPTIVE or not isinstance(card, dict):
            return "an attachment is not an Adaptive Card"
        if card.get("type") != "AdaptiveCard" or not isinstance(card.get("version"), str):
            return "the card's type must be AdaptiveCard, with a version"
        elements = card.get("body")
        if not isinstance(elements, list) or not all(
            isinstance(e, dict) and e.get("type") == "TextBlock" and isinstance(e.get("text"), str)
            for e in elements
        ):
            return "the card's body must be TextBlocks"
    return ""


def generic(body: Any) -> str:
    """vhtqdm's own JSON (the README's Alerts section)."""
    if not isinstance(body, dict):
        return "not an object"
    for name in ("event", "level", "title", "text", "lines", "machine", "time"):
        if name not in body:
            return f"no {name}"
    return ""


@dataclass(frozen=True)
class Service:
    """How one service takes a webhook call."""

    name: str
    check: Check
    ok: int  # its success code
    ok_body: bytes
    path: str  # the URL's path, the key in it


SERVICES = {
    "slack": Service("slack", slack, 200, b"ok", f"/services/T0123ABCD/B0456EFGH/{KEY}"),
    "discord": Service("discord", discord, 204, b"", f"/api/webhooks/112233445566778899/{KEY}"),
    "teams": Service("teams", teams, 202, b"", f"/workflows/{KEY}/triggers/manual/paths/invoke"),
    "json": Service("json", generic, 200, b'{"ok": true}', f"/hooks/{KEY}/"),
}


@dataclass
class Reply:
    """How to answer one call: a code (0: the service's success), headers, a body, a hang."""

    code: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0
    hang: bool = False


@dataclass
class Call:
    """One call the stand-in took (valid and answered with success)."""

    at: float  # time.monotonic() of its arrival
    path: str
    headers: dict[str, str]
    body: Any


class Webhook:
    """A threaded loopback stand-in for ``service``; ``script`` answers the next calls."""

    def __init__(self, service: str = "json", port: int = 0) -> None:
        self.service = SERVICES[service]
        self.calls: list[Call] = []
        self.refused: list[tuple[int, str]] = []  # (code, why) of every call not taken
        self.attempts: list[float] = []  # arrival of every call
        self.script: list[Reply] = []
        self._stop = threading.Event()
        self._cond = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                outer._handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.service.path}"

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        with self._cond:
            self.attempts.append(time.monotonic())
            reply = self.script.pop(0) if self.script else Reply()
        if reply.hang:
            self._stop.wait(60)
            return
        if reply.delay:
            self._stop.wait(reply.delay)
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = None
        code, payload, why = reply.code, reply.body, ""
        if not code:
            known = urlsplit(handler.path).path == self.service.path  # (its query aside)
            why = "" if known else "not this webhook"
            why = why or self.service.check(body)
            if handler.headers.get("Content-Type") != "application/json":
                why = why or "not JSON"
            code = (400 if known else 404) if why else self.service.ok
            payload = why.encode() if why else self.service.ok_body
        with self._cond:
            if 200 <= code < 300:
                call = Call(time.monotonic(), handler.path, dict(handler.headers), body)
                self.calls.append(call)
            else:
                self.refused.append((code, why))
            self._cond.notify_all()
        handler.send_response(code)
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        if code != 204:
            handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        if code != 204:
            handler.wfile.write(payload)

    def wait_for(self, count: int, timeout: float = 15.0) -> list[Call]:
        """The calls taken, once there are ``count`` of them (or ``timeout`` passed)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.calls) < count and time.monotonic() < deadline:
                self._cond.wait(0.05)
            return list(self.calls)

    def close(self) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def text_of(service: str, body: Any) -> str:
    """The text a person reads of a body the service took."""
    if service == "slack":
        return str(body["text"])
    if service == "discord":
        return str(body["content"])
    if service == "teams":
        card = body["attachments"][0]["content"]
        return "\n".join(block["text"] for block in card["body"])
    return str(body["text"])

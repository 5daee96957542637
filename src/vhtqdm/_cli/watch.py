"""``vhtqdm watch``: follow an execution's status from anywhere, through Valohai's REST API.

``GET {host}/api/v0/executions/{id}/`` with ``Authorization: Token …`` every ``--interval``
seconds, each answer drawn with ``render`` (in place on a terminal, frame after frame
otherwise) until the execution ends. Messages name the host, never the token.
"""

from __future__ import annotations

import argparse
import ipaddress
import math
import os
import re
import shutil
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TextIO
from urllib.parse import quote, urlsplit

from .._text import clean
from . import render

DEFAULT_HOST = "https://app.valohai.com"
TOKEN_VARIABLES = ("VALOHAI_TOKEN", "VH_API_TOKEN")
MIN_POLL_INTERVAL = 0.5  # Valohai's API is shared: never ask for one execution faster than this
# As valohai-cli counts them; created, queued, started, stopping (or a new word) go on.
ENDED = frozenset({"complete", "error", "crashed", "stopped"})
STATUS_COLOR = {
    "started": "#4a90e2",
    "complete": "good",
    "error": "bad",
    "crashed": "bad",
    "stopped": "warn",
}
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 15.0
_EXECUTION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


class WatchError(Exception):
    """Why an answer is missing; safe to print (host only, no token). ``lasting``: asking
    again will not help (refused token, unknown execution); otherwise it may (host down)."""

    def __init__(self, message: str, lasting: bool = True) -> None:
        """``lasting=False`` for trouble that may pass (a host down, HTTP 5xx or 429)."""
        super().__init__(message)
        self.lasting = lasting


@dataclass(frozen=True)
class Api:
    """Where and as whom to ask: the host's base URL and the token (None on loopback)."""

    base: str
    token: str | None

    @property
    def where(self) -> str:
        """The host as messages show it: scheme, name and port, no credentials."""
        parts = urlsplit(self.base)
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{parts.hostname}{port}"

    @property
    def loopback(self) -> bool:
        """Whether the host is this machine (a ``vhtqdm preview``): no token, no proxy."""
        host = urlsplit(self.base).hostname or ""
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False


def api_from(host: str | None, environ: Mapping[str, str]) -> Api:
    """The API to ask: ``--host``, else ``VALOHAI_HOST``, else the public app; a token from
    ``VALOHAI_TOKEN`` or ``VH_API_TOKEN`` (optional only for a loopback host, the preview)."""
    raw = (host or environ.get("VALOHAI_HOST") or DEFAULT_HOST).strip().rstrip("/")
    if "://" not in raw:
        raw = "https://" + raw
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WatchError(f"--host must be an http(s) address such as {DEFAULT_HOST}")
    api = Api(f"{parts.scheme}://{parts.netloc}{parts.path}", None)
    token = next((environ[v].strip() for v in TOKEN_VARIABLES if environ.get(v, "").strip()), None)
    if token is None and not api.loopback:
        raise WatchError(
            "no API token: set VALOHAI_TOKEN (or VH_API_TOKEN) to a token of your Valohai "
            f"account (created in your user settings on {api.where})"
        )
    return Api(api.base, token)


def seconds(text: str) -> float:
    """``--interval``'s value: a finite number of seconds above 0, else a :class:`ValueError`."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"--interval must be a number of seconds above 0, not {clean(text, 20)!r}")
    return value


def api_session(api: Api) -> Any:
    """A ``requests`` session that sends only the token given (never ``~/.netrc``'s)."""
    from .._transport import environment_session  # imports requests: only when watching

    session = environment_session(api.base)
    if api.loopback:
        session.proxies.clear()  # a proxy must not intercept the local preview
    return session


def execution_url(api: Api, execution: str) -> str:
    """The execution's REST address; an id that is not one path segment is refused."""
    if not _EXECUTION_ID.fullmatch(execution):
        raise WatchError(f"{execution[:60]!r} is not an execution id")
    return f"{api.base}/api/v0/executions/{quote(execution)}/"


def fetch(session: Any, api: Api, execution: str) -> dict[str, Any]:
    """One execution as a dict, or a :class:`WatchError` saying plainly what went wrong."""
    import requests

    headers = {"Accept": "application/json"}
    if api.token:
        headers["Authorization"] = f"Token {api.token}"
    try:
        response = session.get(
            execution_url(api, execution),
            headers=headers,
            timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
            allow_redirects=False,  # never carry the token to another address
        )
    except requests.RequestException as exc:
        raise WatchError(f"cannot reach {api.where} ({type(exc).__name__})", False) from None
    code = response.status_code
    if code == 401:
        raise WatchError(f"{api.where} refused the API token (HTTP 401): check VALOHAI_TOKEN")
    if code == 403:
        raise WatchError(f"this token may not see execution {execution} (HTTP 403)")
    if code == 404:
        raise WatchError(f"no execution {execution} on {api.where} (HTTP 404): check the id")
    if code != 200:
        raise WatchError(f"{api.where} answered HTTP {code}", lasting=code < 500 and code != 429)
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise WatchError(f"{api.where} did not answer with an execution (not a JSON object)")
    return data


def header(data: dict[str, Any], execution: str, ansi: bool) -> str:
    """``#42 train (my-project) · started``: who the status belongs to, and its state."""
    project = data.get("project")
    name = project.get("name") if isinstance(project, dict) else None
    counter = data.get("counter")
    step = data.get("step")
    parts = [f"#{counter}" if isinstance(counter, int) else execution]
    if isinstance(step, str) and step:
        parts.append(step)
    if isinstance(name, str) and name:
        parts.append(f"({name})")
    status = str(data.get("status") or "unknown")
    state = render.Text(status, STATUS_COLOR.get(status))
    title = render.fit(" ".join(clean(p, 60) for p in parts), 70)
    return f"{title} · {render.render_element(state, 40, ansi)}"


def frame(data: dict[str, Any], execution: str, width: int, ansi: bool) -> list[str]:
    """The lines of one redraw: the header, then the status, each at most ``width`` wide."""
    detail = data.get("status_detail")
    lines = [header(data, execution, ansi)]
    if isinstance(detail, str) and detail.strip():
        lines += render.render(detail, width, ansi)
    else:
        lines.append("(no status yet)")
    return lines


class Screen:
    """Draws frames: in place on a terminal (cursor up, clear), one after another elsewhere."""

    def __init__(self, out: TextIO, in_place: bool) -> None:
        """Draw on ``out``, replacing the previous frame when ``in_place``."""
        self.out = out
        self.in_place = in_place
        self._drawn = 0
        self._last: list[str] | None = None

    def draw(self, lines: list[str], note: str = "") -> None:
        """Show a frame (and a note under it) unless it is the one already shown."""
        shown = lines + ([note] if note else [])
        if shown == self._last:
            return
        if self.in_place:
            up = f"\x1b[{self._drawn}F" if self._drawn else ""
            self.out.write(up + "\x1b[J" + "\n".join(shown) + "\n")
        else:
            self.out.write(("\n" if self._last is not None else "") + "\n".join(shown) + "\n")
        self.out.flush()
        self._drawn = len(shown)
        self._last = shown


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Declare ``vhtqdm watch`` and its options."""
    parser = commands.add_parser(
        "watch",
        help="follow an execution's status in the terminal (Valohai REST API)",
        description="Draw an execution's status (gauges, sparklines, colored text) and redraw "
        "it every --interval seconds until the execution ends. Needs an API token in "
        "VALOHAI_TOKEN or VH_API_TOKEN (not for a loopback --host such as vhtqdm preview's).",
        epilog="examples:\n  VALOHAI_TOKEN=… vhtqdm watch 0185c5e9-…\n"
        "  vhtqdm watch --host http://127.0.0.1:8765 preview   # a running vhtqdm preview\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("execution", help="the execution's id (as in the API)")
    parser.add_argument(
        "--host", help=f"the Valohai address (default $VALOHAI_HOST or {DEFAULT_HOST})"
    )
    parser.add_argument(
        "--interval",
        default="5",
        metavar="SECONDS",
        help=f"seconds between redraws (default 5, at least {MIN_POLL_INTERVAL:g})",
    )
    parser.add_argument("--once", action="store_true", help="print one frame and exit")
    parser.set_defaults(run=run, parser=parser)


def run(args: argparse.Namespace) -> int:
    """Watch until the execution ends (0), or fail with one clear message (1)."""
    try:
        interval = max(seconds(args.interval), MIN_POLL_INTERVAL)
    except ValueError as exc:
        sys.stderr.write(f"vhtqdm watch: {exc}\n")
        return 2
    out = sys.stdout
    tty = out.isatty()
    ansi = tty and not os.environ.get("NO_COLOR")
    try:
        api = api_from(args.host, os.environ)
        session = api_session(api)
        screen = Screen(out, in_place=tty and not args.once)
        data = fetch(session, api, args.execution)  # the first answer decides: fail fast
        while True:
            width = shutil.get_terminal_size().columns - 1 if tty else 100
            screen.draw(frame(data, args.execution, width, ansi))
            if args.once or data.get("status") in ENDED:
                return 0
            time.sleep(interval)
            try:
                data = fetch(session, api, args.execution)
            except WatchError as exc:
                if exc.lasting:
                    raise
                screen.draw(frame(data, args.execution, width, ansi), f"({exc}; retrying)")
    except WatchError as exc:
        sys.stderr.write(f"vhtqdm watch: {exc}\n")
        return 1
    except KeyboardInterrupt:
        return 130

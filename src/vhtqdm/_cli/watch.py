"""``vhtqdm watch``: follow executions' status from anywhere, through Valohai's REST API.

One execution: ``GET {host}/api/v0/executions/{id}/`` (or ``{project}:{counter}/`` for ``42``,
``#42``, ``latest``) every ``--interval`` seconds, each answer drawn with ``render`` (in place on
a terminal, frame after frame otherwise) until it ends. Many (``--task``, ``--pipeline``,
``--project``): one row per execution from the list endpoints, at most every 5 s. The login is
valohai-cli's (``valohai.py``) unless the environment says otherwise. Messages name the host,
never the token.
"""

from __future__ import annotations

import argparse
import ipaddress
import math
import os
import re
import shutil
import sys
import textwrap
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote, urlsplit

from .._text import clean
from . import render
from .valohai import Login, LoginError, read_login

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
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")  # an id that is one path segment
MIN_LIST_INTERVAL = 5.0  # many executions at once: list endpoints, at most every 5 s
ROW_CELLS = 12  # a row's gauge and sparkline, in characters
MAX_PAGES = 50  # a list's pages followed at most (a runaway `next` chain stops here)


class WatchError(Exception):
    """Why an answer is missing; safe to print (host only, no token). ``lasting``: asking
    again will not help (refused token, unknown execution); otherwise it may (host down)."""

    def __init__(self, message: str, lasting: bool = True, usage: bool = False) -> None:
        """``lasting=False`` for trouble that may pass (a host down, HTTP 5xx or 429);
        ``usage=True`` when the command line itself is wrong (exit 2)."""
        super().__init__(message)
        self.lasting = lasting
        self.usage = usage


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


def _base(raw: str) -> str:
    """A host as a base URL (``https://`` unless given, no trailing slash); WatchError if none."""
    raw = raw.strip().rstrip("/")
    if "://" not in raw:
        raw = "https://" + raw
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WatchError(f"--host must be an http(s) address such as {DEFAULT_HOST}")
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def api_from(host: str | None, environ: Mapping[str, str], login: Login | None = None) -> Api:
    """The API to ask: ``--host``, else ``VALOHAI_HOST``, else valohai-cli's login, else the
    public app; a token from ``VALOHAI_TOKEN`` or ``VH_API_TOKEN``, else valohai-cli's token
    (only for the host it was saved for: never sent elsewhere). Optional only on loopback."""
    login = login or Login()
    base = _base(host or environ.get("VALOHAI_HOST") or login.host or DEFAULT_HOST)
    token = next((environ[v].strip() for v in TOKEN_VARIABLES if environ.get(v, "").strip()), None)
    if token is None and login.token and login.host and _base(login.host) == base:
        token = login.token
    api = Api(base, token)
    if token is None and not api.loopback:
        raise WatchError(
            f"no API token for {api.where}: log in with `vh login`, or set VALOHAI_TOKEN (or "
            f"VH_API_TOKEN) to a token of your Valohai account (created in your user settings)"
        )
    return api


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


def execution_path(execution: str, project: str | None) -> str:
    """The REST path of ``execution``: an id, or a counter (``42``, ``#42``, ``latest``) of
    ``project``, which the API resolves (``{project}:{counter}``, as valohai-cli asks)."""
    word = execution.strip()
    counter = word.lstrip("#")
    if counter.isdigit() or counter == "latest":
        if project is None:
            raise WatchError(
                f"{clean(word, 20)} is a counter: run this in a directory linked with "
                "`vh project link`, or give --project (or VALOHAI_PROJECT)",
                usage=True,
            )
        return f"/api/v0/executions/{_segment(project, 'project id')}:{counter}/"
    return f"/api/v0/executions/{_segment(word, 'execution id')}/"


def _segment(word: str, what: str) -> str:
    """``word`` as one URL path segment; a WatchError when it cannot be an id."""
    if not _ID.fullmatch(word):
        raise WatchError(f"{word[:60]!r} is not an {what}", usage=True)
    return quote(word)


def get(session: Any, api: Api, where: str, what: str) -> dict[str, Any]:
    """A JSON object from ``where`` (a path, or a ``next`` page's address on the same host);
    a :class:`WatchError` saying plainly what went wrong (``what``: what was asked for)."""
    import requests

    url = api.base + where if where.startswith("/") else where
    if not url.startswith(api.base + "/"):
        raise WatchError(f"{api.where} pointed elsewhere for the next page: not followed")
    headers = {"Accept": "application/json"}
    if api.token:
        headers["Authorization"] = f"Token {api.token}"
    try:
        response = session.get(
            url,
            headers=headers,
            timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
            allow_redirects=False,  # never carry the token to another address
        )
    except requests.RequestException as exc:
        raise WatchError(f"cannot reach {api.where} ({type(exc).__name__})", False) from None
    code = response.status_code
    if code == 401:
        raise WatchError(
            f"{api.where} refused the API token (HTTP 401): check VALOHAI_TOKEN or `vh login`"
        )
    if code == 403:
        raise WatchError(f"this token may not see {what} (HTTP 403)")
    if code == 404:
        raise WatchError(f"no {what} on {api.where} (HTTP 404): check the id")
    if code != 200:
        raise WatchError(f"{api.where} answered HTTP {code}", lasting=code < 500 and code != 429)
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise WatchError(f"{api.where} did not answer with {what} (not a JSON object)")
    return data


def fetch(session: Any, api: Api, execution: str, project: str | None = None) -> dict[str, Any]:
    """One execution (by id or counter) as a dict."""
    path = execution_path(execution, project)
    return get(session, api, path, f"execution {clean(execution, 60)}")


def list_all(session: Any, api: Api, path: str, what: str) -> list[dict[str, Any]]:
    """Every result of a list endpoint, following its ``next`` pages (at most ``MAX_PAGES``)."""
    results: list[dict[str, Any]] = []
    where = path
    for _ in range(MAX_PAGES):
        page = get(session, api, where, what)
        items = page.get("results")
        if not isinstance(items, list):
            raise WatchError(f"{api.where} did not answer with a list of {what}")
        results += [item for item in items if isinstance(item, dict)]
        following = page.get("next")
        if not isinstance(following, str) or not following:
            break
        where = following
    return results


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


# -- many executions at once ----------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    """Executions watched together: a task's, a pipeline's, or a project's running ones."""

    kind: str  # "task", "pipeline" or "project"
    ident: str

    def collect(self, session: Any, api: Api, known: dict[str, dict[str, Any]]) -> list[Any]:
        """The group's executions now, oldest first; ``known`` keeps those seen before.

        A project's list holds only started executions: one that left it is asked for once
        more, for how it ended. A pipeline's executions are its nodes' (``GET
        /api/v0/pipelines/{id}/``, as valohai-cli reads a pipeline); a node with none yet
        shows as its name and status.
        """
        ident = _segment(self.ident, f"{self.kind} id")
        if self.kind == "task":
            found = list_all(session, api, f"/api/v0/executions/?task={ident}", "executions")
        elif self.kind == "project":
            path = f"/api/v0/executions/?project={ident}&status=started"
            found = list_all(session, api, path, "executions")
            ids = {str(e.get("id")) for e in found}
            for key, seen in known.items():
                if key not in ids and seen.get("status") not in ENDED:
                    found.append(fetch(session, api, key))
        else:
            pipeline = get(session, api, f"/api/v0/pipelines/{ident}/", f"pipeline {ident}")
            nodes = pipeline.get("nodes")
            found = []
            for node in nodes if isinstance(nodes, list) else []:
                if not isinstance(node, dict) or node.get("type", "execution") != "execution":
                    continue
                inner = node.get("execution")
                if isinstance(inner, str):  # an id rather than the execution itself
                    inner = fetch(session, api, inner)
                if isinstance(inner, dict):
                    found.append(inner)
                else:
                    found.append({"id": node.get("id"), "step": node.get("name"),
                                  "status": node.get("status")})  # fmt: skip
        for execution in found:
            known[str(execution.get("id"))] = execution
        return list(known.values())


def row(data: dict[str, Any], width: int, ansi: bool) -> str:
    """One execution in one line: counter, status, its first gauge with its label (or its
    first text), its first sparkline; at most ``width`` visible characters."""
    counter = data.get("counter")
    name = f"#{counter}" if isinstance(counter, int) else clean(str(data.get("step") or "?"), 12)
    status = clean(str(data.get("status") or "unknown"), 9)
    detail = data.get("status_detail")
    elements = render.parse(detail if isinstance(detail, str) else None)
    gauge = next((e for e in elements if isinstance(e, render.Gauge)), None)
    spark = next((e for e in elements if isinstance(e, render.Sparkline) and e.values), None)
    text = next((e for e in elements if isinstance(e, (render.Text, render.Plain))), None)
    state = render.render_element(render.Text(status.ljust(9), STATUS_COLOR.get(status)), 20, ansi)
    head = f"{name:>6}  {state}"
    used = max(len(name), 6) + 2 + 9
    bar = ""
    if gauge is not None:
        bar = f"  {render.gauge_bar(gauge.fraction, ROW_CELLS)} {gauge.fraction * 100:3.0f}%"
        used += len(bar)
    chart = f"  {render.blocks(spark.values, ROW_CELLS)}" if spark is not None else ""
    used += len(chart)
    label = gauge.label if gauge is not None else (text.text if text is not None else "")
    room = max(width - used - 2, 0)
    label = f"  {render.fit(label, room)}" if label and room > 1 else ""
    return head + bar + label + chart


def board(group: Group, rows: list[dict[str, Any]], width: int, ansi: bool) -> list[str]:
    """The lines of one redraw of many executions: a title, then one row each."""
    ended = sum(1 for r in rows if r.get("status") in ENDED)
    plural = "s" if len(rows) != 1 else ""
    title = f"{group.kind} {clean(group.ident, 40)} · {len(rows)} execution{plural}, {ended} ended"
    return [render.fit(title, width)] + [row(r, width, ansi) for r in rows]


def watch_many(session: Any, api: Api, group: Group, interval: float, once: bool) -> int:
    """Draw the group's executions until every one has ended (0)."""
    out = sys.stdout
    tty = out.isatty()
    ansi = tty and not os.environ.get("NO_COLOR")
    interval = max(interval, MIN_LIST_INTERVAL)
    screen = Screen(out, in_place=tty and not once)
    known: dict[str, dict[str, Any]] = {}
    rows = group.collect(session, api, known)  # the first answer decides: fail fast
    if not rows:
        running = "running " if group.kind == "project" else ""
        out.write(f"no {running}executions in {group.kind} {clean(group.ident, 40)}\n")
        return 0
    while True:
        width = shutil.get_terminal_size().columns - 1 if tty else 100
        screen.draw(board(group, rows, width, ansi))
        if once or all(r.get("status") in ENDED for r in rows):
            return 0
        time.sleep(interval)
        try:
            rows = group.collect(session, api, known)
        except WatchError as exc:
            if exc.lasting:
                raise
            screen.draw(board(group, rows, width, ansi), f"({exc}; retrying)")


def watch_one(session: Any, api: Api, execution: str, project: str | None, args: Any) -> int:
    """Draw one execution's status until it ends (0)."""
    out = sys.stdout
    tty = out.isatty()
    ansi = tty and not os.environ.get("NO_COLOR")
    interval = max(args.interval, MIN_POLL_INTERVAL)
    screen = Screen(out, in_place=tty and not args.once)
    data = fetch(session, api, execution, project)  # the first answer decides: fail fast
    while True:
        width = shutil.get_terminal_size().columns - 1 if tty else 100
        screen.draw(frame(data, execution, width, ansi))
        if args.once or data.get("status") in ENDED:
            return 0
        time.sleep(interval)
        try:
            data = fetch(session, api, execution, project)
        except WatchError as exc:
            if exc.lasting:
                raise
            screen.draw(frame(data, execution, width, ansi), f"({exc}; retrying)")


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Declare ``vhtqdm watch`` and its options."""
    parser = commands.add_parser(
        "watch",
        help="follow executions' status in the terminal (Valohai REST API)",
        description=textwrap.fill(
            "Draw an execution's status (gauges, sparklines, colored text) and redraw "
            "it every --interval seconds until the execution ends; or, with --task, --pipeline or "
            "--project and no EXECUTION, one row per execution until all have ended. Uses the "
            "login of valohai-cli (`vh login`) and the project linked to this directory (`vh "
            "project link`); VALOHAI_HOST, VALOHAI_TOKEN (or VH_API_TOKEN) and VALOHAI_PROJECT "
            "override them. No token is needed for a loopback --host such as vhtqdm preview's.",
            width=78,
        ),
        epilog="examples:\n"
        "  vhtqdm watch 42                 # execution #42 of the linked project\n"
        "  vhtqdm watch latest\n"
        "  vhtqdm watch 0185c5e9-…         # by id\n"
        "  vhtqdm watch --task 0185c5e9-…  # every execution of a task, a row each\n"
        "  vhtqdm watch --project 0185c5e9-…   # the project's running executions\n"
        "  vhtqdm watch --host http://127.0.0.1:8765 preview   # a running vhtqdm preview\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "execution", nargs="?", help="a counter (42, #42, latest) of the project, or an id"
    )
    parser.add_argument(
        "--host", help=f"the Valohai address (default $VALOHAI_HOST, vh's, or {DEFAULT_HOST})"
    )
    parser.add_argument(
        "--project", metavar="ID", help="the project (default $VALOHAI_PROJECT or the linked one)"
    )
    many = parser.add_mutually_exclusive_group()
    many.add_argument("--task", metavar="ID", help="every execution of this task")
    many.add_argument("--pipeline", metavar="ID", help="every execution of this pipeline")
    parser.add_argument(
        "--interval",
        default="5",
        metavar="SECONDS",
        help=f"seconds between redraws (default 5, at least {MIN_POLL_INTERVAL:g}; "
        f"{MIN_LIST_INTERVAL:g} for many executions)",
    )
    parser.add_argument("--once", action="store_true", help="print one frame and exit")
    parser.set_defaults(run=run, parser=parser)


def group_of(args: argparse.Namespace, project: str | None) -> Group | None:
    """The executions to watch together, or None for one execution; WatchError if unclear."""
    if args.task or args.pipeline:
        if args.execution is not None:
            raise WatchError("give an EXECUTION or --task/--pipeline, not both", usage=True)
        return Group("task", args.task) if args.task else Group("pipeline", args.pipeline)
    if args.execution is not None:
        return None
    if project is not None and (args.project or os.environ.get("VALOHAI_PROJECT")):
        return Group("project", project)
    raise WatchError(
        "give an EXECUTION (42, #42, latest or an id), or --task, --pipeline or --project",
        usage=True,
    )


def run(args: argparse.Namespace) -> int:
    """Watch until the execution(s) end (0), or fail with one clear message (1; 2: usage)."""
    try:
        args.interval = seconds(args.interval)
    except ValueError as exc:
        sys.stderr.write(f"vhtqdm watch: {exc}\n")
        return 2
    try:
        try:
            login = read_login(os.environ, Path.cwd())
        except LoginError as exc:
            raise WatchError(f"valohai-cli's settings: {exc}") from None
        project = (args.project or os.environ.get("VALOHAI_PROJECT", "")).strip() or login.project
        group = group_of(args, project)
        api = api_from(args.host, os.environ, login)
        session = api_session(api)
        if group is not None:
            return watch_many(session, api, group, args.interval, args.once)
        return watch_one(session, api, args.execution, project, args)
    except WatchError as exc:
        sys.stderr.write(f"vhtqdm watch: {exc}\n")
        return 2 if exc.usage else 1
    except KeyboardInterrupt:
        return 130

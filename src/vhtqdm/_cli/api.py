"""Valohai's REST API as ``vhtqdm watch`` reads it: which host, which token, and the answers.

Executions by id or counter (``GET /api/v0/executions/{id}/``, ``{project}:{counter}/`` as
valohai-cli asks), a task's or a project's from the list endpoints (their ``next`` pages
followed on the same host only), a pipeline's from its nodes. Every failure is an
:class:`ApiError` whose message names the host, never the token. ``requests`` is imported with
the first :class:`Client`, so the rest of the command starts without it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlsplit

from .._text import clean
from .valohai import Login

DEFAULT_HOST = "https://app.valohai.com"
TOKEN_VARIABLES = ("VALOHAI_TOKEN", "VH_API_TOKEN")
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 15.0
# Statuses of an execution that has ended, as valohai-cli counts them (created, queued, started,
# stopping, or a word yet unknown: it goes on).
ENDED = frozenset({"complete", "error", "crashed", "stopped"})
MAX_PAGES = 50  # a list's pages followed at most (a runaway `next` chain stops here)
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")  # an id that is one path segment


class ApiError(Exception):
    """Why an answer is missing, safe to print (the host, never the token)."""

    def __init__(self, message: str, lasting: bool = True, usage: bool = False) -> None:
        """``lasting=False``: asking again may help (a host down, HTTP 5xx or 429);
        ``usage=True``: the command line itself is wrong (exit 2)."""
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


def base_url(raw: str) -> str:
    """A host as a base URL (``https://`` unless given, no trailing slash); ApiError if none."""
    raw = raw.strip().rstrip("/")
    if "://" not in raw:
        raw = "https://" + raw
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApiError(f"--host must be an http(s) address such as {DEFAULT_HOST}")
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def api_from(host: str | None, environ: Mapping[str, str], login: Login) -> Api:
    """The API to ask: ``--host``, else ``VALOHAI_HOST``, else valohai-cli's login, else the
    public app; a token from ``VALOHAI_TOKEN`` or ``VH_API_TOKEN``, else valohai-cli's token
    (only for the host it was saved for: never sent elsewhere). Optional only on loopback."""
    base = base_url(host or environ.get("VALOHAI_HOST") or login.host or DEFAULT_HOST)
    token = next((environ[v].strip() for v in TOKEN_VARIABLES if environ.get(v, "").strip()), None)
    if token is None and login.token and login.host and base_url(login.host) == base:
        token = login.token
    api = Api(base, token)
    if token is None and not api.loopback:
        raise ApiError(
            f"no API token for {api.where}: log in with `vh login`, or set VALOHAI_TOKEN (or "
            f"VH_API_TOKEN) to a token of your Valohai account (created in your user settings)"
        )
    return api


def segment(word: str, what: str) -> str:
    """``word`` as one URL path segment; a usage ApiError when it cannot be an id."""
    if not _ID.fullmatch(word):
        raise ApiError(f"{word[:60]!r} is not an {what}", usage=True)
    return quote(word)


def execution_path(execution: str, project: str | None) -> str:
    """The REST path of ``execution``: an id, or a counter (``42``, ``#42``, ``latest``) of
    ``project``, which the API resolves (``{project}:{counter}``, as valohai-cli asks)."""
    word = execution.strip()
    counter = word.lstrip("#")
    if counter.isdigit() or counter == "latest":
        if project is None:
            raise ApiError(
                f"{clean(word, 20)} is a counter: run this in a directory linked with "
                "`vh project link`, or give --project (or VALOHAI_PROJECT)",
                usage=True,
            )
        return f"/api/v0/executions/{segment(project, 'project id')}:{counter}/"
    return f"/api/v0/executions/{segment(word, 'execution id')}/"


class Client:
    """Asks one API over one session; a context manager that closes the session."""

    def __init__(self, api: Api) -> None:
        from .session import quiet_session  # imports requests: only when watching

        self.api = api
        self._session = quiet_session(api.base, api.loopback)
        self._headers = {"Accept": "application/json"}
        if api.token:
            self._headers["Authorization"] = f"Token {api.token}"

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._session.close()

    def get(self, where: str, what: str) -> dict[str, Any]:
        """The JSON object at ``where`` (a path, or a ``next`` page's address on the same host);
        an :class:`ApiError` saying plainly what went wrong (``what``: what was asked for)."""
        api = self.api
        url = api.base + where if where.startswith("/") else where
        if not url.startswith(api.base + "/"):
            raise ApiError(f"{api.where} pointed elsewhere for the next page: not followed")
        try:
            response = self._session.get(
                url,
                headers=self._headers,
                timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                allow_redirects=False,  # never carry the token to another address
            )
        except OSError as exc:  # requests.RequestException is one: no answer came
            raise ApiError(f"cannot reach {api.where} ({type(exc).__name__})", False) from None
        code = response.status_code
        if code == 401:
            raise ApiError(
                f"{api.where} refused the API token (HTTP 401): check VALOHAI_TOKEN or `vh login`"
            )
        if code == 403:
            raise ApiError(f"this token may not see {what} (HTTP 403)")
        if code == 404:
            raise ApiError(f"no {what} on {api.where} (HTTP 404): check the id")
        if code != 200:
            raise ApiError(f"{api.where} answered HTTP {code}", lasting=code < 500 and code != 429)
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise ApiError(f"{api.where} did not answer with {what} (not a JSON object)")
        return data

    def executions(self, query: str) -> list[dict[str, Any]]:
        """Every execution the list endpoint gives for ``query`` (``task=…``), all pages."""
        results: list[dict[str, Any]] = []
        where = f"/api/v0/executions/?{query}"
        for _ in range(MAX_PAGES):
            page = self.get(where, "executions")
            items = page.get("results")
            if not isinstance(items, list):
                raise ApiError(f"{self.api.where} did not answer with a list of executions")
            results += [item for item in items if isinstance(item, dict)]
            following = page.get("next")
            if not isinstance(following, str) or not following:
                break
            where = following
        return results

    def pipeline_executions(self, pipeline: str) -> list[dict[str, Any]]:
        """A pipeline's executions, one per execution node (``GET /api/v0/pipelines/{id}/``, as
        valohai-cli reads a pipeline). A node with none yet is its id, name and status while
        the pipeline runs; once the pipeline has ended it never will have one, and is left out."""
        ident = segment(pipeline, "pipeline id")
        data = self.get(f"/api/v0/pipelines/{ident}/", f"pipeline {clean(pipeline, 60)}")
        nodes = data.get("nodes")
        found = []
        for node in nodes if isinstance(nodes, list) else []:
            if not isinstance(node, dict) or node.get("type", "execution") != "execution":
                continue
            inner = node.get("execution")
            if isinstance(inner, str):  # an id rather than the execution itself
                inner = self.get(execution_path(inner, None), f"execution {clean(inner, 60)}")
            if isinstance(inner, dict):
                found.append(inner)
            elif data.get("status") not in ENDED:
                found.append({"id": node.get("id"), "step": node.get("name"),
                              "status": node.get("status")})  # fmt: skip
        return found

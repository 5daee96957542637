"""The token (headers) and any secret in the URL's query never reach any output, whatever fails."""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import sys
import threading
from pathlib import Path
from urllib.parse import quote, quote_plus, unquote, unquote_plus

import pytest

import vhtqdm
from vhtqdm import _process, tqdm
from vhtqdm._config import load_endpoint

from ..helpers import run_command, run_script
from ..server import TOKEN, Answer, StatusServer
from .scenarios import free_port

QUERY_SECRET = "q-S3cret-v4lue-77"


def configure(tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    entry = {"url": f"{url}?sig={QUERY_SECRET}", "headers": {"Authorization": f"Token {TOKEN}"}}
    (tmp_path / "api.json").write_text(json.dumps({"set_status_detail": entry}))
    monkeypatch.setenv("VH_CONFIG_DIR", str(tmp_path))


def leaks(text: str) -> bool:
    return TOKEN in text or QUERY_SECRET in text


@pytest.mark.slow
@pytest.mark.parametrize(
    "failure",
    ["ok", "500", "503", "401", "hang", "refused", "unresolvable"],
)
def test_no_secret_in_logs_output_or_reprs(
    failure: str,
    server: StatusServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, urllib3's URL-bearing debug lines included
    url = server.url
    if failure == "refused":
        url = f"http://127.0.0.1:{free_port()}/status/"
    elif failure == "unresolvable":
        url = "http://status.vhtqdm.invalid/status/"
    elif failure == "hang":
        server.answer = Answer(hang=True)
    elif failure != "ok":
        server.answer = Answer(code=int(failure))
    configure(tmp_path, url, monkeypatch)
    bar = tqdm(total=10, desc="train", status_interval=0.5, file=io.StringIO())
    bar.update(5)
    bar.set_postfix(loss=0.5)
    vhtqdm.flush(1.0)
    bar.close()
    vhtqdm.flush(1.0)
    mirror = _process.get()
    assert mirror is not None
    captured = capsys.readouterr()
    records = [r.getMessage() for r in caplog.records]
    everything = "\n".join(
        [
            captured.out,
            captured.err,
            *records,
            repr(mirror),
            repr(load_endpoint(os.environ)),
            repr(mirror.sender),
            str(vars(mirror.sender)),
        ]
    )
    assert not leaks(everything)
    if failure in ("ok", "500"):
        # urllib3 logs each request line at DEBUG: it is there, with the secret masked.
        assert any("sig=***" in r for r in records), records
    if failure == "ok":
        assert server.last is not None and server.last.path.endswith(f"sig={QUERY_SECRET}")


# -- credentials from the environment (issue 9, item 1) ---------------------------------------

NETRC_JOB = """
from vhtqdm import tqdm
for _ in tqdm(range(3), desc="train"):
    pass
"""


def netrc_home(tmp_path: Path) -> dict[str, str]:
    """A HOME whose ~/.netrc holds another tool's password for every host."""
    home = tmp_path / "home"
    home.mkdir()
    netrc = home / ".netrc"
    netrc.write_text("default login someone password other\n")
    netrc.chmod(0o600)
    return {"HOME": str(home)}


def test_a_netrc_never_replaces_the_token(
    server: StatusServer, config_dir: Path, tmp_path: Path
) -> None:
    # Fails on the previous code: requests' trust_env sent Basic auth from ~/.netrc instead.
    run = run_script(NETRC_JOB, config_dir, env=netrc_home(tmp_path))
    assert run.code == 0, run.err
    assert server.posts, run.err
    assert {p.headers["Authorization"] for p in server.posts} == {f"Token {TOKEN}"}
    assert "vhtqdm:" not in run.err


def test_the_status_command_ignores_a_netrc_too(
    server: StatusServer, config_dir: Path, tmp_path: Path
) -> None:
    # Fails on the previous code (the same session, the same Basic auth).
    run = run_command(
        [sys.executable, "-m", "vhtqdm", "status", "x"], config_dir, env=netrc_home(tmp_path)
    )
    assert run.code == 0, run.err
    assert server.last is not None
    assert server.last.headers["Authorization"] == f"Token {TOKEN}"


# -- encoded query secrets (issue 9, item 4) --------------------------------------------------

ENCODED = ["s3cr3t+x9", "s3cr3t%2Bx9", "s3cr3t%20x9"]


def forms(raw: str) -> set[str]:
    """Every way the query value ``raw`` may be printed."""
    decoded = {unquote(raw), unquote_plus(raw)}
    return (
        {raw}
        | decoded
        | {quote(d) for d in decoded}
        | {quote(d, safe="") for d in decoded}
        | {quote_plus(d) for d in decoded}
    )


class MalformedHeaders:
    """A loopback server whose answers carry a header line urllib3 cannot parse."""

    def __init__(self) -> None:
        self.requests = 0
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(8)
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    conn.recv(65536)
                    self.requests += 1
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                        b": no-name\r\nConnection: close\r\n\r\n{}"
                    )
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()


@pytest.mark.parametrize("raw", ENCODED)
def test_encoded_query_secrets_are_masked_in_library_logs(
    raw: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Fails on the previous code: only the decoded value was masked, urllib3 logs the raw one.
    caplog.set_level(logging.DEBUG)
    malformed = MalformedHeaders()
    try:
        url = f"http://127.0.0.1:{malformed.port}/status-detail/?token={raw}"
        entry = {"url": url, "headers": {"Authorization": f"Token {TOKEN}"}}
        (tmp_path / "api.json").write_text(json.dumps({"set_status_detail": entry}))
        monkeypatch.setenv("VH_CONFIG_DIR", str(tmp_path))
        bar = tqdm(total=3, file=io.StringIO())
        vhtqdm.flush(3)
        bar.close()
        vhtqdm.flush(3)
    finally:
        malformed.close()
    assert malformed.requests >= 1
    records = [r.getMessage() for r in caplog.records]
    parse_warnings = [r for r in records if "Failed to parse headers" in r]
    assert parse_warnings, records  # the warning that carries the URL is there, masked
    assert any("token=***" in r for r in records), records
    everything = "\n".join(records)
    assert not [form for form in forms(raw) if form in everything]
    assert TOKEN not in everything

"""The token (headers) and any secret in the URL's query never reach any output, whatever fails."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest

import vhtqdm
from vhtqdm import _process, tqdm

from ..server import TOKEN, Answer, StatusServer
from .scenarios import free_port

QUERY_SECRET = "q-S3cret-v4lue-77"


def configure(tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    entry = {"url": f"{url}?sig={QUERY_SECRET}", "headers": {"Authorization": f"Token {TOKEN}"}}
    (tmp_path / "api.json").write_text(json.dumps({"set_status_detail": entry}))
    monkeypatch.setenv("VH_CONFIG_DIR", str(tmp_path))


def leaks(text: str) -> bool:
    return TOKEN in text or QUERY_SECRET in text


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
            repr(mirror.endpoint),
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

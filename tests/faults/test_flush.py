"""`vhtqdm.flush(timeout)`: delivers the newest status, retries what may pass, never overstays."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest

import vhtqdm
from vhtqdm import tqdm

from ..server import Answer, StatusServer
from .scenarios import free_port


def test_flush_retries_a_transient_failure_within_its_timeout(valohai: StatusServer) -> None:
    bar = tqdm(total=10, file=io.StringIO())
    assert vhtqdm.flush(5)  # the first status
    valohai.script = [Answer(code=503), Answer(code=502)]
    bar.update(7)
    assert vhtqdm.flush(5)
    assert valohai.last is not None and valohai.last.of_type("gauge")[0]["value"] == 7
    assert [code for _, code in valohai.log[-3:]] == [503, 502, 200]
    bar.close()


def test_flush_gives_up_at_its_timeout_without_hammering(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"http://127.0.0.1:{free_port()}/status/"  # nothing listens: refused at once
    entry = {"url": url, "headers": {"Authorization": "Token x"}}
    (tmp_path / "api.json").write_text(json.dumps({"set_status_detail": entry}))
    monkeypatch.setenv("VH_CONFIG_DIR", str(tmp_path))
    bar = tqdm(total=10, file=io.StringIO())
    started = time.monotonic()
    assert not vhtqdm.flush(1.0)
    assert time.monotonic() - started < 1.3
    bar.close()


def test_flush_after_the_token_is_refused_is_false_at_once(valohai: StatusServer) -> None:
    valohai.answer = Answer(code=401)
    bar = tqdm(total=10, file=io.StringIO())
    assert not vhtqdm.flush(5)
    started = time.monotonic()
    bar.update(3)
    assert not vhtqdm.flush(5)
    assert time.monotonic() - started < 0.5
    assert valohai.attempts == 1
    bar.close()


def test_flush_with_nothing_new_is_true(valohai: StatusServer) -> None:
    assert vhtqdm.flush(1)  # nothing was ever submitted
    bar = tqdm(total=10, file=io.StringIO())
    assert vhtqdm.flush(5)
    posts = len(valohai.posts)
    assert vhtqdm.flush(5)
    assert len(valohai.posts) == posts  # unchanged: nothing sent again
    bar.close()


def test_flush_off_valohai_is_true_and_instant() -> None:
    started = time.monotonic()
    assert vhtqdm.flush(5)
    assert time.monotonic() - started < 0.1


def test_a_failing_composer_costs_one_warning_and_no_busy_loop(
    valohai: StatusServer, caplog: pytest.LogCaptureFixture
) -> None:
    from vhtqdm import _process

    bar = tqdm(total=100, file=io.StringIO(), status_interval=0.5)
    mirror = _process.get()
    assert mirror is not None
    calls = []

    def broken() -> tuple[str, bool]:  # a bug in composing, simulated
        calls.append(time.monotonic())
        raise RuntimeError("bug")

    mirror.sender._compose = broken
    for _ in range(20):
        bar.update()
        time.sleep(0.1)  # 2 s of work
    bar.close()
    assert len(calls) <= 8, f"{len(calls)} compositions in 2 s: the thread spins"
    said = [r.getMessage() for r in caplog.records if r.name == "vhtqdm"]
    assert said == ["vhtqdm: status composition failed (RuntimeError)"]

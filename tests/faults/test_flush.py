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


@pytest.mark.slow
def test_flush_retries_a_transient_failure_within_its_timeout(valohai: StatusServer) -> None:
    bar = tqdm(total=10, file=io.StringIO())
    assert vhtqdm.flush(5)  # the first status
    valohai.script = [Answer(code=503), Answer(code=502)]
    bar.update(7)
    assert vhtqdm.flush(5)
    assert valohai.last is not None and valohai.last.of_type("gauge")[0]["value"] == 7
    assert [code for _, code in valohai.log[-3:]] == [503, 502, 200]
    bar.close()


@pytest.mark.timing
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


@pytest.mark.timing
@pytest.mark.slow
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


def test_after_flushed_milestones_the_last_close_still_goes_at_once(
    valohai: StatusServer,
) -> None:
    # Fails on the previous code: each flush spent an urgent token it was never granted; after
    # six set_status + flush pairs the balance was -3 and the close waited the 5 s interval.
    for i in range(6):
        vhtqdm.set_status(f"phase {i}")
        assert vhtqdm.flush(5)
    bar = tqdm(total=3, desc="last", file=io.StringIO())
    bar.update(3)
    posted = len(valohai.posts)
    closed = time.monotonic()
    bar.close()
    assert valohai.wait_for(lambda posts: len(posts) > posted and "good" in posts[-1].status, 4)
    assert valohai.posts[-1].at - closed < 1.5


def test_a_bar_closed_by_the_garbage_collector_is_posted_promptly(
    valohai: StatusServer,
) -> None:
    # Fails on the previous code: a close from __del__ waited for the next wake-up (30 s here).
    import gc

    bar = tqdm(total=4, desc="forgotten", status_interval=30, file=io.StringIO())
    assert vhtqdm.flush(5)
    bar.update(4)
    bar.cycle = bar  # a reference cycle: only the collector finalizes it
    del bar
    posted = len(valohai.posts)
    collected = time.monotonic()
    gc.collect()
    assert valohai.wait_for(lambda posts: len(posts) > posted, 5)
    assert valohai.posts[-1].at - collected < 2.0
    (gauge,) = valohai.posts[-1].of_type("gauge")
    assert gauge["value"] == 4


@pytest.mark.parametrize("where", ["env", "keyword"])
def test_an_interval_beyond_what_threads_can_wait_is_one_warning(
    where: str, server: StatusServer, config_dir: Path
) -> None:
    # Fails on the previous code: 1e10 s overflowed threading's wait and killed the sender
    # thread at every submit, a traceback each time.
    from ..helpers import run_script

    keyword = ", status_interval=1e10" if where == "keyword" else ""
    run = run_script(
        f"""
        from vhtqdm import tqdm
        for _ in range(3):
            for _ in tqdm(range(3), desc="train"{keyword}):
                pass
        """,
        config_dir,
        env={"VHTQDM_STATUS_INTERVAL": "1e10"} if where == "env" else {},
    )
    assert run.code == 0
    assert "Traceback" not in run.err, run.err
    assert run.err.count("vhtqdm:") == 1, run.err
    assert "status_interval" in run.err or "VHTQDM_STATUS_INTERVAL" in run.err
    assert server.last is not None and "good" in server.last.status

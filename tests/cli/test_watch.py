"""``vhtqdm watch`` of one execution: its status drawn from Valohai's REST API (the stand-in),
in this process on a fake clock; the terminal's in-place redraw in a real one."""

from __future__ import annotations

import http.client
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vhtqdm._compose import gauge_line, sparkline_line, text_line

from .api_server import API_TOKEN, EXECUTION_ID, ApiServer, execution, execution_route
from .conftest import FakeClock, Watcher
from .runner import cli_env

RUNNING = "\n".join(
    [
        text_line("Loading training data…"),
        gauge_line(2.0, 3.0, "epoch 2/3 · 1.64 s/it"),
        gauge_line(10.0, 80.0, "train 10/80 · 49.0 it/s"),
        text_line("loss 0.4757"),
        sparkline_line([2.279, 1.576, 0.9567, 0.603]),
    ]
)
ROUTE = execution_route()


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VALOHAI_TOKEN", API_TOKEN)


def frames(out: str) -> list[list[str]]:
    """The frames a watch printed off a terminal (one after another, a blank line between)."""
    return [frame.splitlines() for frame in out.split("\n\n")]


@pytest.mark.usefixtures("token")
def test_once_draws_every_element_of_the_status(api: ApiServer, watch: Watcher) -> None:
    api.routes[ROUTE] = [execution("started", RUNNING)]
    ran = watch("--host", api.host, EXECUTION_ID, "--once")
    assert ran.code == 0, ran.err
    lines = ran.out.splitlines()
    assert lines[0] == "#42 train (mnist) · started"
    assert lines[1] == "Loading training data…"
    assert lines[2].startswith("████████████████ ") and lines[2].endswith(
        " 67%  epoch 2/3 · 1.64 s/it"
    )
    assert lines[3].endswith(" 12%  train 10/80 · 49.0 it/s")
    assert lines[4] == "loss 0.4757"
    assert lines[5] == "█▅▂▁  2.279 → 0.603"
    assert len(lines) == 6
    assert [seen.headers["Authorization"] for seen in api.seen] == [f"Token {API_TOKEN}"]
    assert API_TOKEN not in ran.out + ran.err


@pytest.mark.usefixtures("token")
def test_it_follows_the_execution_until_it_ends(
    api: ApiServer, watch: Watcher, clock: FakeClock
) -> None:
    api.routes[ROUTE] = [
        execution("queued", None),
        execution("started", RUNNING),
        execution("started", RUNNING),  # unchanged: not drawn again
        execution("complete", text_line("Model converged", "good")),
    ]
    ran = watch("--host", api.host, EXECUTION_ID, "--interval", "2")
    assert ran.code == 0, ran.err
    assert len(api.seen) == 4
    assert clock.sleeps == [2, 2, 2]  # --interval apart, and no ask after the end
    shown = frames(ran.out)
    assert [f[0] for f in shown] == [
        "#42 train (mnist) · queued",
        "#42 train (mnist) · started",
        "#42 train (mnist) · complete",
    ]
    assert shown[0][1] == "(no status yet)"
    assert shown[-1][1:] == ["Model converged"]


@pytest.mark.usefixtures("token")
@pytest.mark.parametrize(("interval", "pause"), [("0.1", 0.5), ("0.5", 0.5), ("7.5", 7.5)])
def test_one_execution_is_asked_for_at_most_every_half_second(
    api: ApiServer, watch: Watcher, clock: FakeClock, interval: str, pause: float
) -> None:
    api.routes[ROUTE] = [execution("started", None), execution("complete", None)]
    ran = watch("--host", api.host, EXECUTION_ID, "--interval", interval)
    assert ran.code == 0, ran.err
    assert clock.sleeps == [pause]


@pytest.mark.usefixtures("token")
def test_the_frame_says_when_the_job_should_end_in_local_time(
    api: ApiServer, watch: Watcher
) -> None:
    job = gauge_line(0.58, 1, "job 58% · ETA 2:14:05 · elapsed 1:18:00")
    outer = gauge_line(1.75, 3, "epoch 1/3 · ETA 2:14:05")
    api.routes[ROUTE] = [execution("started", f"{job}\n{outer}")]
    ran = watch("--host", api.host, EXECUTION_ID, "--once")
    assert ran.code == 0, ran.err
    lines = ran.out.splitlines()
    # Seen at 21:00 in the viewer's zone (UTC+2), 2:14:05 left: 23:14.
    assert lines[1].endswith(" 58%  job 58% · ETA 2:14:05 · ends ~23:14 · elapsed 1:18:00")
    assert lines[2].endswith("epoch 1/3 · ETA 2:14:05")  # the job's gauge tells it, once


@pytest.mark.usefixtures("token")
@pytest.mark.parametrize(
    ("eta", "end"), [("30:00:00", "Mon 03:00"), ("200:00:00", "2025-03-10 05:00")]
)
def test_an_end_on_another_day_names_the_day(
    api: ApiServer, watch: Watcher, eta: str, end: str
) -> None:
    # Seen on Saturday 2025-03-01 at 21:00 in the viewer's zone.
    api.routes[ROUTE] = [execution("started", gauge_line(0.1, 1, f"job 10% · ETA {eta}"))]
    ran = watch("--host", api.host, EXECUTION_ID, "--once")
    assert ran.code == 0, ran.err
    assert ran.out.splitlines()[1].endswith(f"job 10% · ETA {eta} · ends ~{end}")


@pytest.mark.usefixtures("token")
def test_unknown_and_malformed_lines_are_shown_as_plain_text(
    api: ApiServer, watch: Watcher
) -> None:
    status = "plain words\n{broken json\n" + '{"type":"chart","x":1}\n' + text_line("ok")
    api.routes[ROUTE] = [execution("complete", status)]
    ran = watch("--host", api.host, EXECUTION_ID)
    assert ran.code == 0, ran.err
    assert ran.out.splitlines()[1:] == [
        "plain words",
        "{broken json",
        '{"type":"chart","x":1}',
        "ok",
    ]


def test_vh_api_token_works_as_well(
    api: ApiServer, watch: Watcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VH_API_TOKEN", API_TOKEN)
    api.routes[ROUTE] = [execution("complete", text_line("done"))]
    ran = watch("--host", api.host, EXECUTION_ID, "--once")
    assert ran.code == 0, ran.err
    assert ran.out.splitlines()[1] == "done"


def test_a_missing_token_is_explained_before_any_request(watch: Watcher) -> None:
    ran = watch("0185c5e9", "--host", "https://valohai.example")
    assert ran.code == 1
    assert ran.err.startswith("vhtqdm watch: no API token for https://valohai.example")
    assert "VALOHAI_TOKEN" in ran.err and len(ran.err.splitlines()) == 1


def test_a_refused_token_is_explained_and_never_printed(
    api: ApiServer, watch: Watcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VALOHAI_TOKEN", "wrong-token-value-123")
    api.routes[ROUTE] = [execution("started", RUNNING)]
    ran = watch("--host", api.host, EXECUTION_ID)
    assert ran.code == 1
    assert ran.err == (
        f"vhtqdm watch: {api.host} refused the API token (HTTP 401): "
        "check VALOHAI_TOKEN or `vh login`\n"
    )
    assert ran.out == ""
    assert "wrong-token-value-123" not in ran.out + ran.err


@pytest.mark.usefixtures("token")
def test_an_unknown_execution_is_a_404(api: ApiServer, watch: Watcher) -> None:
    ran = watch("--host", api.host, "no-such-id")
    assert ran.code == 1
    assert ran.err == (
        f"vhtqdm watch: no execution no-such-id on {api.host} (HTTP 404): check the id\n"
    )


@pytest.mark.usefixtures("token")
def test_an_unreachable_host_is_explained(api: ApiServer, watch: Watcher) -> None:
    host = api.host
    api.close()
    ran = watch("--host", host, "abc")
    assert ran.code == 1
    assert ran.err.startswith(f"vhtqdm watch: cannot reach {host} (")
    assert len(ran.err.splitlines()) == 1


@pytest.mark.usefixtures("token")
def test_an_outage_while_watching_is_waited_out(
    api: ApiServer, watch: Watcher, clock: FakeClock
) -> None:
    api.routes[ROUTE] = [
        execution("started", RUNNING),
        503,
        429,
        execution("complete", text_line("back", "good")),
    ]
    ran = watch("--host", api.host, EXECUTION_ID, "--interval", "1")
    assert ran.code == 0, ran.err
    assert clock.sleeps == [1, 1, 1]
    shown = frames(ran.out)
    assert shown[1][-1] == f"({api.host} answered HTTP 503; retrying)"
    assert shown[2][-1] == f"({api.host} answered HTTP 429; retrying)"
    assert shown[3] == ["#42 train (mnist) · complete", "back"]


@pytest.mark.usefixtures("token")
def test_lasting_trouble_once_watching_ends_the_watch(
    api: ApiServer, watch: Watcher, clock: FakeClock
) -> None:
    api.routes[ROUTE] = [execution("started", RUNNING), 404]
    ran = watch("--host", api.host, EXECUTION_ID)
    assert ran.code == 1
    assert "HTTP 404" in ran.err
    assert clock.sleeps == [5]


@pytest.mark.usefixtures("token")
@pytest.mark.parametrize("word", ["../../users/", "a b", "é", "-" * 3])
def test_a_bad_execution_id_is_refused_without_a_request(
    api: ApiServer, watch: Watcher, word: str
) -> None:
    ran = watch("--host", api.host, "--", word)
    assert ran.code == 2  # a usage error
    assert "is not an execution id" in ran.err
    assert api.seen == []


def test_a_proxy_in_the_environment_is_not_used_for_a_loopback_host(
    api: ApiServer, watch: Watcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "")
    monkeypatch.setenv("VALOHAI_TOKEN", API_TOKEN)
    api.routes[ROUTE] = [execution("complete", text_line("direct"))]
    ran = watch("--host", api.host, EXECUTION_ID, "--once")
    assert ran.code == 0, ran.err
    assert ran.out.splitlines()[1] == "direct"


def write_netrc(home: Path) -> None:
    (home / ".netrc").write_text("default login someone password other\n")
    (home / ".netrc").chmod(0o600)


def test_netrc_never_replaces_or_adds_credentials(
    api: ApiServer, watch: Watcher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A host that is not loopback, reached through the stand-in as the environment's proxy: the
    # proxy is honoured, ~/.netrc's password is not.
    write_netrc(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("HTTP_PROXY", api.host)
    monkeypatch.setenv("VALOHAI_TOKEN", API_TOKEN)
    api.routes[ROUTE] = [execution("complete", text_line("through the proxy"))]
    ran = watch("--host", "http://valohai.example", EXECUTION_ID, "--once")
    assert ran.code == 0, ran.err
    assert ran.out.splitlines()[1] == "through the proxy"
    (seen,) = api.seen
    assert seen.target == f"http://valohai.example{ROUTE}"
    assert seen.headers["Authorization"] == f"Token {API_TOKEN}"


def test_netrc_adds_nothing_without_a_token_on_loopback(
    api: ApiServer, watch: Watcher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_netrc(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    api.routes[ROUTE] = [execution("complete", text_line("done"))]
    ran = watch("--host", api.host, EXECUTION_ID, "--once")
    assert ran.code == 1  # no token: the stand-in refuses, nothing else was sent
    assert "Authorization" not in api.seen[0].headers


@pytest.mark.usefixtures("token")
@pytest.mark.parametrize("through_proxy", [False, True], ids=["direct", "proxy"])
def test_http_debug_output_never_shows_the_token(
    api: ApiServer,
    watch: Watcher,
    monkeypatch: pytest.MonkeyPatch,
    through_proxy: bool,
) -> None:
    # requests' documented debugging recipe: http.client then prints every header it sends.
    monkeypatch.setattr(http.client.HTTPConnection, "debuglevel", 1)
    host = api.host
    if through_proxy:
        monkeypatch.setenv("HTTP_PROXY", api.host)
        host = "http://valohai.example"
    api.routes[ROUTE] = [execution("complete", text_line("done"))]
    ran = watch("--host", host, EXECUTION_ID, "--once")
    assert ran.code == 0, ran.err
    assert api.seen[-1].headers["Authorization"] == f"Token {API_TOKEN}"
    printed = ran.out + ran.err  # http.client prints to sys.stdout
    assert API_TOKEN not in printed
    assert "send:" not in printed and "reply:" not in printed


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-1", "soon"])
def test_a_bad_interval_is_one_line_and_no_request(
    api: ApiServer, watch: Watcher, value: str
) -> None:
    api.routes[ROUTE] = [execution("started", None)]
    ran = watch("--host", api.host, EXECUTION_ID, f"--interval={value}")
    assert ran.code == 2, ran.err
    assert ran.err.startswith("vhtqdm watch: --interval must be a number of seconds above 0")
    assert len(ran.err.splitlines()) == 1
    assert api.seen == []


def test_exit_status_with_once_is_one_line(api: ApiServer, watch: Watcher) -> None:
    ran = watch("--host", api.host, EXECUTION_ID, "--once", "--exit-status")
    assert ran.code == 2
    assert ran.err.startswith("vhtqdm watch: --exit-status waits for the end")
    assert len(ran.err.splitlines()) == 1
    assert api.seen == []


@pytest.mark.slow
def test_on_a_terminal_it_redraws_in_place_with_colors(api: ApiServer) -> None:
    api.routes[ROUTE] = [
        execution("started", RUNNING),
        execution("complete", text_line("Model converged", "good")),
    ]
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "vhtqdm", "watch", "--host", api.host, EXECUTION_ID,
         "--interval", "0.5"],
        stdout=follower, stderr=follower, env=cli_env(env={"VALOHAI_TOKEN": API_TOKEN}),
    )  # fmt: skip
    os.close(follower)
    chunks = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the other side closed
                break
            if not chunk:
                break
            chunks.append(chunk)
        elif proc.poll() is not None:
            break
    os.close(leader)
    assert proc.wait(timeout=10) == 0
    screen = b"".join(chunks).decode()
    assert "\x1b[6F\x1b[J" in screen  # back up over the 6 lines of the first frame, clear
    assert "\x1b[32mModel converged\x1b[0m" in screen  # "good" is green

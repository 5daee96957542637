"""``vhtqdm watch``: an execution's status drawn in the terminal, from Valohai's REST API."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vhtqdm._compose import gauge_line, sparkline_line, text_line

from .api_server import API_TOKEN, ApiServer, Reply, execution
from .runner import cli_env, vhtqdm

pytestmark = pytest.mark.slow

RUNNING = "\n".join(
    [
        text_line("Loading training data…"),
        gauge_line(2.0, 3.0, "epoch 2/3 · 1.64 s/it"),
        gauge_line(10.0, 80.0, "train 10/80 · 49.0 it/s"),
        text_line("loss 0.4757"),
        sparkline_line([2.279, 1.576, 0.9567, 0.603]),
    ]
)
TOKEN_ENV = {"VALOHAI_TOKEN": API_TOKEN}


def watch(api: ApiServer, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    ran = vhtqdm(
        "watch", "--host", api.host, api.execution_id, *args, env=env or TOKEN_ENV, timeout=60
    )
    return ran.code, ran.text + ran.err


def test_once_draws_every_element_of_the_status(api: ApiServer) -> None:
    api.script = [Reply(execution("started", RUNNING))]
    code, out = watch(api, "--once")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] == "#42 train (mnist) · started"
    assert lines[1] == "Loading training data…"
    assert lines[2].startswith("████████████████ ") and lines[2].endswith(
        " 67%  epoch 2/3 · 1.64 s/it"
    )
    assert lines[3].endswith(" 12%  train 10/80 · 49.0 it/s")
    assert lines[4] == "loss 0.4757"
    assert lines[5] == "█▅▂▁  2.279 → 0.603"
    assert len(api.seen) == 1
    assert api.seen[0].headers["Authorization"] == f"Token {API_TOKEN}"
    assert API_TOKEN not in out


def test_it_follows_the_execution_until_it_ends(api: ApiServer) -> None:
    api.script = [
        Reply(execution("queued", None)),
        Reply(execution("started", RUNNING)),
        Reply(execution("started", RUNNING)),  # unchanged: not drawn again
        Reply(execution("complete", text_line("Model converged", "good"))),
    ]
    started = time.monotonic()
    code, out = watch(api, "--interval", "0.5")
    assert code == 0, out
    assert len(api.seen) == 4
    assert time.monotonic() - started < 30
    frames = out.split("\n\n")  # not a terminal: one frame after another
    assert [f.splitlines()[0] for f in frames] == [
        "#42 train (mnist) · queued",
        "#42 train (mnist) · started",
        "#42 train (mnist) · complete",
    ]
    assert frames[0].splitlines()[1] == "(no status yet)"
    assert frames[-1].splitlines()[1] == "Model converged"


def test_unknown_and_malformed_lines_are_shown_as_plain_text(api: ApiServer) -> None:
    status = "plain words\n{broken json\n" + '{"type":"chart","x":1}\n' + text_line("ok")
    api.script = [Reply(execution("complete", status))]
    code, out = watch(api)
    assert code == 0, out
    assert out.splitlines()[1:] == ["plain words", "{broken json", '{"type":"chart","x":1}', "ok"]


def test_vh_api_token_works_as_well(api: ApiServer) -> None:
    api.script = [Reply(execution("complete", text_line("done")))]
    code, out = watch(api, "--once", env={"VH_API_TOKEN": API_TOKEN})
    assert code == 0, out
    assert "done" in out


def test_a_missing_token_is_explained_before_any_request() -> None:
    ran = vhtqdm("watch", "0185c5e9", "--host", "https://valohai.example", timeout=30)
    assert ran.code == 1
    assert "no API token" in ran.err and "VALOHAI_TOKEN" in ran.err
    assert "Traceback" not in ran.err


def test_a_refused_token_is_explained_and_never_printed(api: ApiServer) -> None:
    api.script = [Reply(execution("started", RUNNING))]
    code, out = watch(api, env={"VALOHAI_TOKEN": "wrong-token-value-123"})
    assert code == 1
    assert "refused the API token (HTTP 401)" in out
    assert "wrong-token-value-123" not in out


def test_an_unknown_execution_is_a_404(api: ApiServer) -> None:
    api.script = [Reply(execution("started", RUNNING))]
    ran = vhtqdm("watch", "--host", api.host, "no-such-id", env=TOKEN_ENV, timeout=30)
    assert ran.code == 1
    assert "no execution no-such-id" in ran.err and "HTTP 404" in ran.err


def test_an_unreachable_host_is_explained(api: ApiServer) -> None:
    host = api.host
    api.close()
    ran = vhtqdm("watch", "--host", host, "abc", env=TOKEN_ENV, timeout=60)
    assert ran.code == 1
    assert f"cannot reach {host}" in ran.err


def test_an_outage_while_watching_is_waited_out(api: ApiServer) -> None:
    api.script = [
        Reply(execution("started", RUNNING)),
        Reply(code=503),
        Reply(execution("complete", text_line("back", "good"))),
    ]
    code, out = watch(api, "--interval", "0.5")
    assert code == 0, out
    assert "answered HTTP 503; retrying" in out
    assert out.rstrip().endswith("back")


def test_a_bad_execution_id_is_refused_without_a_request(api: ApiServer) -> None:
    api.script = [Reply(execution("started", RUNNING))]
    ran = vhtqdm("watch", "--host", api.host, "../../users/", env=TOKEN_ENV, timeout=30)
    assert ran.code == 2  # a usage error
    assert "is not an execution id" in ran.err
    assert api.seen == []


def test_on_a_terminal_it_redraws_in_place_with_colors(api: ApiServer) -> None:
    api.script = [
        Reply(execution("started", RUNNING)),
        Reply(execution("complete", text_line("Model converged", "good"))),
    ]
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "vhtqdm", "watch", "--host", api.host, api.execution_id,
         "--interval", "0.5"],
        stdout=follower, stderr=follower, env=cli_env(env=TOKEN_ENV),
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


def test_a_proxy_in_the_environment_is_not_used_for_a_loopback_host(api: ApiServer) -> None:
    api.script = [Reply(execution("complete", text_line("direct")))]
    proxied = {**TOKEN_ENV, "HTTP_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}
    code, out = watch(api, "--once", env=proxied)
    assert code == 0, out
    assert "direct" in out


def test_netrc_never_replaces_or_adds_credentials(api: ApiServer, tmp_path: Path) -> None:
    # A host that is not loopback, reached through the stand-in as the environment's proxy: the
    # proxy is honoured, ~/.netrc's password is not.
    netrc = tmp_path / ".netrc"
    netrc.write_text("default login someone password other\n")
    netrc.chmod(0o600)
    api.script = [Reply(execution("complete", text_line("through the proxy")))]
    env = {**TOKEN_ENV, "HOME": str(tmp_path), "HTTP_PROXY": api.host}
    ran = vhtqdm("watch", "--host", "http://valohai.example", api.execution_id, "--once", env=env)
    assert ran.code == 0, ran.err
    assert "through the proxy" in ran.text
    assert len(api.seen) == 1
    assert api.seen[0].url.startswith("http://valohai.example/api/v0/executions/")
    assert api.seen[0].headers["Authorization"] == f"Token {API_TOKEN}"


def test_netrc_adds_nothing_without_a_token_on_loopback(api: ApiServer, tmp_path: Path) -> None:
    (tmp_path / ".netrc").write_text("default login someone password other\n")
    (tmp_path / ".netrc").chmod(0o600)
    api.script = [Reply(execution("complete", text_line("done")))]
    api.token = "unused"
    env = {"HOME": str(tmp_path)}
    ran = vhtqdm("watch", "--host", api.host, api.execution_id, "--once", env=env)
    assert ran.code == 1  # no token: the stand-in refuses, nothing else was sent
    assert "Authorization" not in api.seen[0].headers

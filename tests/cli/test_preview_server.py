"""The preview's loopback server: the job-side endpoint, the REST endpoint and the page."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from vhtqdm._cli.preview_server import PreviewServer, PreviewState
from vhtqdm._compose import text_line
from vhtqdm._config import parse_entry
from vhtqdm._throttle import OK, REFUSED
from vhtqdm._transport import Transport


@pytest.fixture
def preview() -> Iterator[PreviewServer]:
    server = PreviewServer(PreviewState("python train.py"), port=0)
    server.start()
    yield server
    server.close()


def post(server: PreviewServer, body: Any, token: str | None = None) -> requests.Response:
    headers = {"Authorization": f"Token {token if token is not None else server.token}"}
    return requests.post(server.status_url, data=body, headers=headers, timeout=10)


def test_its_api_json_is_a_valid_valohai_entry_that_vhtqdm_posts_through(
    preview: PreviewServer,
) -> None:
    endpoint = parse_entry(preview.api_json()["set_status_detail"], "api.json")
    result = Transport(endpoint).post(text_line("hello"), 5)
    assert result.kind == OK
    assert preview.state.latest is not None
    assert preview.state.latest.status == '{"type":"text","text":"hello"}'
    assert preview.state.count == 1


def test_a_wrong_or_missing_token_is_refused_and_counted(preview: PreviewServer) -> None:
    body = json.dumps({"status_detail": "x"})
    assert post(preview, body, token="guess").status_code == 401
    assert requests.post(preview.status_url, data=body, timeout=10).status_code == 401
    endpoint = parse_entry(
        {"url": preview.status_url, "headers": {"Authorization": "Token nope"}}, "api.json"
    )
    assert Transport(endpoint).post("x", 5).kind == REFUSED  # vhtqdm stops mirroring on a 401
    assert (preview.state.count, preview.state.rejected) == (0, 3)


@pytest.mark.parametrize(
    ("body", "code"),
    [("not json", 400), ('{"status_detail": 5}', 400), ("[]", 400), ("x" * 300_000, 413)],
)
def test_a_malformed_body_is_refused(preview: PreviewServer, body: str, code: int) -> None:
    assert post(preview, body).status_code == code
    assert preview.state.count == 0


def test_the_execution_endpoint_answers_as_valohais_does(preview: PreviewServer) -> None:
    base = f"http://127.0.0.1:{preview.port}/api/v0/executions/"
    before = requests.get(base + "preview/", timeout=10).json()
    assert (before["status"], before["status_detail"]) == ("started", None)
    post(preview, json.dumps({"status_detail": "epoch 1"}))
    preview.state.finish(0)
    after = requests.get(base + "preview/", timeout=10).json()
    assert (after["status"], after["status_detail"], after["counter"]) == ("complete", "epoch 1", 1)
    assert requests.get(base + "other/", timeout=10).status_code == 404


@pytest.mark.parametrize(("code", "status"), [(0, "complete"), (1, "error"), (130, "stopped")])
def test_the_command_exit_code_becomes_valohais_status(code: int, status: str) -> None:
    state = PreviewState("x")
    state.finish(code)
    assert state.execution()["status"] == status


def test_state_json_sends_only_the_updates_the_page_has_not_seen(preview: PreviewServer) -> None:
    for n in range(30):
        post(preview, json.dumps({"status_detail": f"update {n}"}))
    url = f"{preview.url}state.json"
    first = requests.get(url, timeout=10).json()
    assert [u["seq"] for u in first["updates"]] == list(range(11, 31))  # the newest 20
    assert first["count"] == 30 and first["command"] == "python train.py"
    later = requests.get(url, params={"since": 28}, timeout=10).json()
    assert [u["status"] for u in later["updates"]] == ["update 28", "update 29"]
    assert later["run"] == first["run"]


def test_the_page_and_its_assets_are_served_without_outside_references(
    preview: PreviewServer,
) -> None:
    page = requests.get(preview.url, timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    for asset in ("preview.css", "preview.js"):
        answer = requests.get(preview.url + asset, timeout=10)
        assert answer.status_code == 200
        assert "http://" not in answer.text.replace("http://www.w3.org/2000/svg", "")
        assert "https://" not in answer.text
    assert 'src="/preview.js"' in page.text
    assert requests.get(preview.url + "../pyproject.toml", timeout=10).status_code == 404


def test_requests_naming_another_host_are_refused(preview: PreviewServer) -> None:
    # A web page elsewhere that rebinds its DNS name to 127.0.0.1 sends its own Host header.
    answer = requests.get(
        preview.url + "state.json", headers={"Host": "attacker.example"}, timeout=10
    )
    assert answer.status_code == 421
    good = requests.get(f"http://localhost:{preview.port}/state.json", timeout=10)
    assert good.status_code == 200


def test_an_open_page_is_given_the_chance_to_see_how_the_command_ended(
    preview: PreviewServer,
) -> None:
    state = preview.state
    state.finish(0)
    started = time.monotonic()
    state.let_readers_see_the_end(timeout=5)  # no page open: no wait
    assert time.monotonic() - started < 0.5
    requests.get(preview.url + "state.json", timeout=10)  # a page polls (and sees the end)
    started = time.monotonic()
    state.let_readers_see_the_end(timeout=5)
    assert time.monotonic() - started < 0.5


def test_a_page_that_has_not_seen_the_end_yet_is_waited_for(preview: PreviewServer) -> None:
    state = preview.state
    requests.get(preview.url + "state.json", timeout=10)  # a page is open, command running
    state.finish(0)
    started = time.monotonic()
    state.let_readers_see_the_end(timeout=0.8)  # it does not poll again: the wait is bounded
    assert 0.7 < time.monotonic() - started < 3


def _refusals(server: PreviewServer) -> list[tuple[str, dict[str, str], bytes, int]]:
    """Posts the server refuses: a wrong token, a wrong path, a wrong Host, a body too long."""
    body = json.dumps({"status_detail": "x" * 1000}).encode()
    token = {"Authorization": f"Token {server.token}", "Content-Type": "application/json"}
    path = "/api/v0/executions/preview/status-detail/"
    return [
        (path, {"Authorization": "Token guess"}, body, 401),
        ("/elsewhere/", token, body, 404),
        (path, {**token, "Host": "attacker.example"}, body, 421),
        (path, token, b"y" * 300_000, 413),
    ]


@pytest.mark.parametrize("case", range(4), ids=["401", "404", "421", "413"])
def test_a_refused_post_leaves_the_keep_alive_connection_usable(
    preview: PreviewServer, case: int
) -> None:
    import http.client

    path, headers, body, code = _refusals(preview)[case]
    connection = http.client.HTTPConnection("127.0.0.1", preview.port, timeout=10)
    try:
        connection.request("POST", path, body=body, headers=headers)
        refused = connection.getresponse()
        refused.read()
        assert refused.status == code
        # The same connection again (http.client reconnects by itself if the server closed it).
        connection.request("GET", "/state.json", headers={"Host": f"127.0.0.1:{preview.port}"})
        answer = connection.getresponse()
        assert answer.status == 200, answer.read()[:200]
        assert json.loads(answer.read())["command"] == "python train.py"
    finally:
        connection.close()

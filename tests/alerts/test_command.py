"""``vhtqdm alert TEXT [--level L]``: an alert from a shell step, as the library sends it."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from ..cli.runner import vhtqdm
from .hooks import KEY, Reply, Webhook, text_of

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("fmt", ["slack", "teams", "discord", "json"])
def test_the_alert_is_delivered_in_the_services_format(fmt: str) -> None:
    hook = Webhook(fmt)
    try:
        ran = vhtqdm(
            "alert", "Data set downloaded: 1.2 M images",
            env={"VHTQDM_ALERT_URL": hook.url, "VHTQDM_ALERT_FORMAT": fmt},
        )  # fmt: skip
        (call,) = hook.wait_for(1)
    finally:
        hook.close()
    assert (ran.code, ran.out, ran.err) == (0, b"", "")
    assert hook.refused == []  # the body is the one the service documents
    lines = text_of(fmt, call.body).splitlines()
    assert "Data set downloaded: 1.2 M images" in lines[0] and lines[0].startswith("\u2139")
    assert lines[-1] == socket.gethostname()  # off Valohai: the machine, no execution


def test_the_level_and_the_execution_are_told(hook: Webhook, tmp_path: Path) -> None:
    execution = {"valohai.execution-counter": 7, "valohai.execution-id": "0189abcd"}
    (tmp_path / "execution.json").write_text(json.dumps(execution))
    env = {"VHTQDM_ALERT_URL": hook.url, "VHTQDM_ALERT_ON": "none"}  # (a call is always sent)
    ran = vhtqdm("alert", "accuracy below 0.8", "--level", "warn", config_dir=tmp_path, env=env)
    assert ran.code == 0, ran.err
    (call,) = hook.calls
    assert (call.body["event"], call.body["level"]) == ("message", "warn")
    assert call.body["execution"] == {
        "id": "0189abcd", "counter": 7, "project": None, "url": None
    }  # fmt: skip  # (no project name: no page to link)


@pytest.mark.parametrize("strict", [[], ["--strict"]])
def test_without_the_variable_it_says_so_and_exits_0(strict: list[str]) -> None:
    ran = vhtqdm("alert", "hello", *strict)
    assert ran.code == 0
    assert ran.err == "vhtqdm alert: VHTQDM_ALERT_URL is not set: the alert is not sent\n"


def test_an_undelivered_alert_is_one_line_without_the_url_and_exit_1_if_strict(
    hook: Webhook,
) -> None:
    hook.script = [Reply(404, body=b"no_service")] * 2
    ran = vhtqdm("alert", "hello", env={"VHTQDM_ALERT_URL": hook.url})
    strict = vhtqdm("alert", "hello", "--strict", env={"VHTQDM_ALERT_URL": hook.url})
    assert (ran.code, strict.code) == (0, 1)
    for run in (ran, strict):
        assert run.err == "vhtqdm alert: 127.0.0.1 did not take the alert (HTTP 404)\n"
        assert KEY not in run.err


def test_a_busy_webhook_is_tried_again_within_the_timeout(hook: Webhook) -> None:
    hook.script = [Reply(503), Reply(429, {"Retry-After": "1"})]
    ran = vhtqdm("alert", "hello", "--timeout", "5", env={"VHTQDM_ALERT_URL": hook.url})
    assert ran.code == 0, ran.err
    assert len(hook.attempts) == 3 and len(hook.calls) == 1


def test_a_hung_webhook_is_waited_for_no_longer_than_the_timeout(hook: Webhook) -> None:
    hook.script = [Reply(hang=True)]
    ran = vhtqdm("alert", "hello", "--timeout", "1", env={"VHTQDM_ALERT_URL": hook.url})
    assert ran.code == 0 and ran.seconds < 4  # an interpreter's start, and the 1 s
    assert ran.err == "vhtqdm alert: 127.0.0.1 did not take the alert (no answer in time)\n"


@pytest.mark.parametrize(
    ("args", "env", "said"),
    [
        (["", "--strict"], {"VHTQDM_ALERT_URL": "http://127.0.0.1:9/x"}, "TEXT is empty"),
        (["hi", "--level", "loud"], {}, "invalid choice: 'loud'"),
        (["hi", "--strict"], {"VHTQDM_ALERT_URL": "hooks.slack.com/services/x"}, "http(s) URL"),
    ],
)  # fmt: skip
def test_mistakes_are_one_line(args: list[str], env: dict[str, str], said: str) -> None:
    ran = vhtqdm("alert", *args, env=env)
    assert ran.code in (1, 2) and said in ran.err
    assert "services/x" not in ran.err

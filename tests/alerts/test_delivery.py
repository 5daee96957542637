"""Alerts delivered to loopback stand-ins of each service: the bodies they take, the retries,
the pacing, and what a gone, refusing or hung webhook does (in this process, real HTTP)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import pytest

from vhtqdm._alerts import Alerts
from vhtqdm._config import ALERT_FORMATS, DEFAULT_ALERT_ON
from vhtqdm._limits import ALERT_TRIES

from ..faults.scenarios import free_port
from .hooks import SERVICES, Reply, Webhook, text_of

pytestmark = pytest.mark.slow


def alerts_for(url: str, fmt: str = "json") -> Alerts:
    return Alerts(url, fmt, DEFAULT_ALERT_ON, 600.0, {"VH_CONFIG_DIR": "/nonexistent"})


@pytest.fixture
def made() -> Iterator[list[Alerts]]:
    """Alerts objects a test makes, their threads stopped afterwards."""
    made: list[Alerts] = []
    yield made
    for alerts in made:
        alerts.close()


def start(made: list[Alerts], url: str, fmt: str = "json") -> Alerts:
    alerts = alerts_for(url, fmt)
    made.append(alerts)
    return alerts


@pytest.mark.parametrize("fmt", ALERT_FORMATS)
def test_each_service_takes_the_alert_as_its_docs_show(fmt: str, made: list[Alerts]) -> None:
    hook = Webhook(fmt)
    try:
        alerts = start(made, hook.url, fmt)
        alerts.say("Validation accuracy below 0.8", "warn")
        assert alerts.flush(10)
        (call,) = hook.wait_for(1)
    finally:
        hook.close()
    assert hook.refused == []  # the stand-in checked the body as the service does
    assert call.headers["Content-Type"] == "application/json"
    title = text_of(fmt, call.body).splitlines()[0]
    assert title.startswith("\u26a0\ufe0f ") and "Validation accuracy below 0.8" in title


def test_alerts_in_a_row_go_one_after_another_in_order(hook: Webhook, made: list[Alerts]) -> None:
    alerts = start(made, hook.url)
    for i in range(4):
        alerts.say(f"alert {i}")
    calls = hook.wait_for(4)
    assert [call.body["title"] for call in calls] == [f"alert {i}" for i in range(4)]
    # Two at once (the burst allowance), then one a second, as Slack asks of a webhook.
    assert calls[2].at - calls[0].at >= 0.9


def test_a_429_waits_for_its_retry_after(hook: Webhook, made: list[Alerts]) -> None:
    hook.script = [Reply(429, {"Retry-After": "1"})]
    alerts = start(made, hook.url)
    alerts.say("rate limited")
    assert alerts.flush(10)
    assert len(hook.attempts) == 2 and hook.attempts[1] - hook.attempts[0] >= 0.95


def test_discords_429_waits_for_the_retry_after_of_its_body(made: list[Alerts]) -> None:
    hook = Webhook("discord")
    body = b'{"message": "You are being rate limited.", "retry_after": 0.8, "global": false}'
    hook.script = [Reply(429, {"Content-Type": "application/json"}, body)]
    try:
        alerts = start(made, hook.url, "discord")
        alerts.say("rate limited")
        assert alerts.flush(10)
    finally:
        hook.close()
    assert len(hook.attempts) == 2 and hook.attempts[1] - hook.attempts[0] >= 0.75


def test_a_5xx_is_tried_again(hook: Webhook, made: list[Alerts]) -> None:
    hook.script = [Reply(500), Reply(503)]
    alerts = start(made, hook.url)
    alerts.say("third time lucky")
    assert alerts.flush(10)
    assert len(hook.attempts) == 3 and len(hook.calls) == 1


def test_an_alert_refused_every_time_is_given_up_and_the_next_goes(
    hook: Webhook, made: list[Alerts], caplog: pytest.LogCaptureFixture
) -> None:
    hook.script = [Reply(502)] * ALERT_TRIES
    alerts = start(made, hook.url)
    alerts.say("lost")
    alerts.say("delivered")
    assert not alerts.flush(30)  # one was lost
    assert [call.body["title"] for call in hook.calls] == ["delivered"]
    assert len(hook.attempts) == ALERT_TRIES + 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "vhtqdm: alerts to 127.0.0.1 are failing (HTTP 502); vhtqdm tries each a few times; "
        "the job and its status are unaffected"
    ]


def test_a_refused_connection_is_tried_again(made: list[Alerts]) -> None:
    port = free_port()
    alerts = start(made, f"http://127.0.0.1:{port}{SERVICES['json'].path}")
    alerts.say("the webhook comes up late")
    servers: list[Webhook] = []
    later = threading.Timer(0.6, lambda: servers.append(Webhook("json", port)))
    later.start()
    try:
        alerts.flush(10)
        later.join()
        calls = servers[0].wait_for(1)
    finally:
        for server in servers:
            server.close()
    assert [call.body["title"] for call in calls] == ["the webhook comes up late"]


def test_a_gone_webhook_ends_the_alerts_with_one_warning(
    hook: Webhook, made: list[Alerts], caplog: pytest.LogCaptureFixture
) -> None:
    hook.script = [Reply(404, body=b"no_service")]
    alerts = start(made, hook.url)
    alerts.say("first")
    assert not alerts.flush(5)
    alerts.say("second")
    assert not alerts.flush(1)
    assert len(hook.attempts) == 1 and alerts.sender.closed
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "vhtqdm: 127.0.0.1 refused the alerts (HTTP 404: the webhook is revoked or gone); "
        "the job and its status are unaffected"
    ]


def test_a_hung_webhook_holds_a_flush_no_longer_than_its_timeout(
    hook: Webhook, made: list[Alerts]
) -> None:
    hook.script = [Reply(hang=True)]
    alerts = start(made, hook.url)
    alerts.say("into the void")
    started = time.monotonic()
    assert not alerts.flush(1.0)
    assert time.monotonic() - started < 1.5

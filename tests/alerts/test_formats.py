"""Each webhook's body, as its service documents it; which format a URL takes; what is secret."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from vhtqdm._config import ALERT_FORMATS
from vhtqdm._events import Event
from vhtqdm._webhooks import (
    Context,
    Message,
    body,
    detect,
    execution_link,
    url_secrets,
)

from .hooks import SERVICES

LINK = "https://app.valohai.com/p/acme/vision/execution/0189c3f2-aaaa-bbbb-cccc-1234567890ab/"
CONTEXT = Context(
    host="gpu-node-3",
    execution_id="0189c3f2-aaaa-bbbb-cccc-1234567890ab",
    counter=42,
    project="acme/vision",
    link=LINK,
    member=(1, 4),
)
FAILED = Event(
    "failed",
    "error",
    "job",
    "Failed at train 412/1875: RuntimeError: CUDA out of memory",
    ("epoch 1/3 \u00b7 in 1:18:00 \u00b7 failed", "loss 0.473 \u00b7 min 0.4589 \u00b7 max 2.371"),
    "job 37%",
)
MESSAGE = Message(FAILED, CONTEXT, 1740865205.0)  # 2025-03-01T21:40:05Z


def decoded(fmt: str, message: Message = MESSAGE) -> dict[str, object]:
    raw = body(fmt, message)
    assert raw.isascii()  # every service decodes JSON escapes; nothing else crosses the wire
    data: dict[str, object] = json.loads(raw)
    return data


@pytest.mark.parametrize("fmt", ALERT_FORMATS)
def test_each_body_is_what_its_service_takes(fmt: str) -> None:
    assert SERVICES[fmt].check(decoded(fmt)) == ""


def test_slack_gets_mrkdwn_text_with_the_execution_linked() -> None:
    assert decoded("slack") == {
        "text": "\u274c *Failed at train 412/1875: RuntimeError: CUDA out of memory*\n"
        "job 37%\n"
        "epoch 1/3 \u00b7 in 1:18:00 \u00b7 failed\n"
        "loss 0.473 \u00b7 min 0.4589 \u00b7 max 2.371\n"
        f"<{LINK}|execution #42 \u00b7 acme/vision> \u00b7 gpu-node-3 \u00b7 member 2/4"
    }


def test_slack_escapes_what_would_be_markup() -> None:
    event = replace(FAILED, title="loss <nan> & worse", details=(), summary=None)
    text = decoded("slack", MESSAGE._replace(event=event, context=Context("h")))["text"]
    assert text == "\u274c *loss &lt;nan&gt; &amp; worse*\nh"


def test_discord_gets_content_within_2000_characters_mentioning_nobody() -> None:
    data = decoded("discord")
    assert data == {
        "content": "\u274c **Failed at train 412/1875: RuntimeError: CUDA out of memory**\n"
        "job 37%\n"
        "epoch 1/3 \u00b7 in 1:18:00 \u00b7 failed\n"
        "loss 0.473 \u00b7 min 0.4589 \u00b7 max 2.371\n"
        f"[execution #42 \u00b7 acme/vision](<{LINK}>) \u00b7 gpu-node-3 \u00b7 member 2/4",
        "allowed_mentions": {"parse": []},
    }
    long = replace(FAILED, title="@everyone *look*", details=("x" * 290,) * 12)
    content = decoded("discord", MESSAGE._replace(event=long))["content"]
    assert isinstance(content, str) and len(content) <= 2000
    assert content.startswith("\u274c **@everyone \\*look\\***\n")  # its markup escaped
    assert content.endswith("gpu-node-3 \u00b7 member 2/4")  # details go first, not the origin


def test_teams_gets_a_message_with_an_adaptive_card() -> None:
    data = decoded("teams")
    (attachment,) = data["attachments"]  # type: ignore[misc]
    assert data["type"] == "message"
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["contentUrl"] is None
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert [(b["text"], b.get("color"), b.get("weight")) for b in card["body"]] == [
        (f"\u274c {FAILED.title}", "Attention", "Bolder"),
        ("job 37%", None, None),
        ("epoch 1/3 \u00b7 in 1:18:00 \u00b7 failed", None, None),
        ("loss 0.473 \u00b7 min 0.4589 \u00b7 max 2.371", None, None),
        ("execution #42 \u00b7 acme/vision \u00b7 gpu-node-3 \u00b7 member 2/4", None, None),
    ]
    assert all(block["type"] == "TextBlock" and block["wrap"] for block in card["body"])
    assert card["actions"] == [
        {"type": "Action.OpenUrl", "title": "Open the execution", "url": LINK}
    ]


def test_any_other_url_gets_vhtqdms_json() -> None:
    assert decoded("json") == {
        "source": "vhtqdm",
        "event": "failed",
        "level": "error",
        "title": "Failed at train 412/1875: RuntimeError: CUDA out of memory",
        "lines": [
            "job 37%",
            "epoch 1/3 \u00b7 in 1:18:00 \u00b7 failed",
            "loss 0.473 \u00b7 min 0.4589 \u00b7 max 2.371",
        ],
        "job": "job 37%",
        "text": "\u274c Failed at train 412/1875: RuntimeError: CUDA out of memory\n"
        "job 37%\n"
        "epoch 1/3 \u00b7 in 1:18:00 \u00b7 failed\n"
        "loss 0.473 \u00b7 min 0.4589 \u00b7 max 2.371\n"
        "execution #42 \u00b7 acme/vision \u00b7 gpu-node-3 \u00b7 member 2/4\n" + LINK,
        "execution": {
            "id": "0189c3f2-aaaa-bbbb-cccc-1234567890ab",
            "counter": 42,
            "project": "acme/vision",
            "url": LINK,
        },
        "machine": {"host": "gpu-node-3", "member": "2/4", "rank": None},
        "time": "2025-03-01T21:40:05Z",
        "not_sent": 0,
    }


def test_the_last_word_counts_the_alerts_the_cap_held_back() -> None:
    finished = Event("finished", "info", "job", "Finished in 1:23:45")
    data = decoded("json", Message(finished, Context("h", rank=3), 0.0, capped=7))
    assert data["lines"] == ["7 more alerts not sent (at most 20 a run)"]
    assert data["text"] == (
        "\u2705 Finished in 1:23:45\n7 more alerts not sent (at most 20 a run)\nh \u00b7 rank 3"
    )
    assert data["execution"] is None  # off Valohai: no execution to name


TEAMS_FLOW = "https://prod-12.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths"
TEAMS_PLATFORM = "https://default1234.environment.api.powerplatform.com/powerautomate/automations"


@pytest.mark.parametrize(
    ("url", "fmt"),
    [
        ("https://hooks.slack.com/services/T0123/B0456/abcdef", "slack"),
        ("https://discord.com/api/webhooks/1122334455/tok-en", "discord"),
        ("https://discordapp.com/api/webhooks/1122334455/tok-en", "discord"),
        ("https://ptb.discord.com/api/v10/webhooks/1122334455/tok-en", "discord"),
        (f"{TEAMS_FLOW}/invoke?api-version=2016-06-01&sig=x", "teams"),
        (f"{TEAMS_PLATFORM}/direct/workflows/abc/triggers/manual/paths/invoke", "teams"),
        ("https://acme.webhook.office.com/webhookb2/abc/IncomingWebhook/def/ghi", "teams"),
        ("https://discord.com/channels/1/2", "json"),  # not a webhook
        ("https://example.org/hooks/vhtqdm", "json"),
        ("http://127.0.0.1:9000/x", "json"),
    ],
)  # fmt: skip
def test_the_format_follows_the_host(url: str, fmt: str) -> None:
    assert detect(url) == fmt


def test_what_of_a_webhook_url_is_secret() -> None:
    slack = "https://hooks.slack.com/services/T0123ABCD/B0456EFGH/xYzSecretKey123456"
    found = url_secrets(slack)
    assert slack in found and "/services/T0123ABCD/B0456EFGH/xYzSecretKey123456" in found
    assert {"T0123ABCD", "B0456EFGH", "xYzSecretKey123456"} <= set(found)
    assert "services" not in found and "hooks.slack.com" not in found  # not secrets: words
    teams = (
        "https://prod-1.x.logic.azure.com/workflows/0a1b2c3d4e5f/triggers/manual?sig=S1g%2Bx&sv=1.0"
    )
    assert {"0a1b2c3d4e5f", "S1g%2Bx", "S1g+x"} <= set(url_secrets(teams))
    assert "p4ss" in url_secrets("https://user:p4ss@example.org/h")


def test_the_execution_link_is_the_installations_own() -> None:
    api = "https://valohai.acme.internal/api/v0/executions/0189/status-detail/"
    assert execution_link(api, "acme/vision", "0189") == (
        "https://valohai.acme.internal/p/acme/vision/execution/0189/"
    )
    assert execution_link(None, "acme/vision", "0189") == (
        "https://app.valohai.com/p/acme/vision/execution/0189/"
    )
    assert execution_link("http://10.0.0.1:8080/status", "acme/vision", "0189") == (
        "https://app.valohai.com/p/acme/vision/execution/0189/"  # not Valohai's REST API
    )
    assert execution_link(api, None, "0189") is None  # no project name: no page to name

"""What a webhook is sent: an alert as Slack, Microsoft Teams, Discord or plain JSON take it.

Pure: no I/O, no clock. :func:`detect` tells the format from the URL's host, :func:`body` builds
the request body each service documents, :func:`url_secrets` lists what of a URL must never be
printed (Slack's and Discord's webhook URLs carry their key in the path, a Teams workflow's in
its query).

- Slack incoming webhook: ``{"text": …}`` in Slack's ``mrkdwn`` (``&``, ``<``, ``>`` escaped, a
  link as ``<url|text>``), https://docs.slack.dev/messaging/sending-messages-using-incoming-webhooks
  and https://docs.slack.dev/messaging/formatting-message-text
- Discord: ``{"content": …}`` of at most 2000 characters, with ``allowed_mentions`` parsing none
  (a description saying ``@everyone`` pings nobody),
  https://discord.com/developers/docs/resources/webhook#execute-webhook
- Microsoft Teams (a Workflows "When a Teams webhook request is received" flow, which replaces
  the retired Office 365 connectors, and those connectors too): ``{"type": "message",
  "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": null,
  "content": {an Adaptive Card}}]}``, https://learn.microsoft.com/en-us/microsoftteams/platform/
  webhooks-and-connectors/how-to/connectors-using#send-adaptive-cards-using-an-incoming-webhook
- JSON (any other URL): vhtqdm's own object, documented in the README (``Alerts``).
"""

from __future__ import annotations

import json
import time
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, quote, urlsplit

from ._events import ERROR, FINISHED, INFO, RECOVERED, WARN, Event
from ._limits import MAX_ALERTS
from ._text import clean

SLACK = "slack"
TEAMS = "teams"
DISCORD = "discord"
JSON = "json"

DISCORD_LIMIT = 2000  # characters of a Discord message's content
TEXT_LIMIT = 3000  # characters of any other alert's text (Slack shows up to 40 000)
LINE_CHARS = 300  # one line of an alert
VALOHAI = "https://app.valohai.com"

_ICONS = {ERROR: "\u274c", WARN: "\u26a0\ufe0f", INFO: "\u2139\ufe0f"}
_GOOD = "\u2705"  # a finished run, a stall that ended
_TEAMS_COLORS = {ERROR: "Attention", WARN: "Warning", INFO: "Default"}


class Context(NamedTuple):
    """Who speaks: the execution, as far as the environment tells, and the machine."""

    host: str  # the machine's name
    execution_id: str | None = None
    counter: int | None = None
    project: str | None = None  # Valohai's "owner/project"
    link: str | None = None  # the execution's page
    member: tuple[int, int] | None = None  # zero-based index and count of distributed members
    rank: int | None = None  # the process's rank, as its launcher says

    def execution(self) -> str:
        """``execution #42 · org/project``, ``execution 0189…``, or nothing (off Valohai)."""
        if self.counter is not None:
            name = f"execution #{self.counter}"
        elif self.execution_id:
            name = f"execution {clean(self.execution_id, 40)}"
        else:
            return ""
        return f"{name} \u00b7 {clean(self.project, 80)}" if self.project else name

    def machine(self) -> str:
        """``gpu-node-3 · member 2/4 · rank 3`` (the member one-based, as people count)."""
        parts = [clean(self.host, 80) or "?"]
        if self.member is not None:
            parts.append(f"member {self.member[0] + 1}/{self.member[1]}")
        if self.rank is not None:
            parts.append(f"rank {self.rank}")
        return " \u00b7 ".join(parts)


class Message(NamedTuple):
    """One alert as it goes out: the event, who speaks, when, and what the cap held back."""

    event: Event
    context: Context
    at: float  # seconds since the epoch
    capped: int = 0  # alerts of the run not sent (the cap); told by the run's last word


def execution_link(
    api_url: str | None, project: str | None, execution_id: str | None
) -> str | None:
    """The execution's page: ``{host}/p/{owner/project}/execution/{id}/``, the host being that of
    the status endpoint when it is Valohai's REST API (``…/api/…``: the installation's own, a
    self-hosted one too), else app.valohai.com. None without a project name and an id."""
    if not project or not execution_id:
        return None
    base = VALOHAI
    if api_url:
        parts = urlsplit(api_url)
        if parts.scheme in ("http", "https") and parts.hostname and parts.path.startswith("/api/"):
            port = f":{parts.port}" if parts.port else ""
            base = f"{parts.scheme}://{parts.hostname}{port}"
    return f"{base}/p/{quote(project)}/execution/{quote(execution_id, safe='')}/"


def detect(url: str) -> str:
    """The format a webhook URL takes, by its host: Slack, Discord, Teams, else JSON."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host in ("hooks.slack.com", "hooks.slack-gov.com"):
        return SLACK
    discord = host in ("discord.com", "discordapp.com") or host.endswith(
        (".discord.com", ".discordapp.com")
    )
    if discord and "/webhooks/" in parts.path:
        return DISCORD
    teams = (".logic.azure.com", ".powerautomate.com", ".powerplatform.com", ".webhook.office.com")
    if host.endswith(teams) or host in ("api.powerautomate.com", "api.powerplatform.com"):
        return TEAMS
    return JSON


def url_secrets(url: str) -> list[str]:
    """Every part of a webhook URL that must never be printed: the URL itself, its path and
    query, each path segment that looks like a key (16 characters or more, or a digit in it),
    each query value, the credentials before the host."""
    parts = urlsplit(url)
    found = [url, parts.path, f"{parts.path}?{parts.query}" if parts.query else ""]
    found += [
        segment
        for segment in parts.path.split("/")
        if len(segment) >= 16 or any(c.isdigit() for c in segment)
    ]
    found += [value for _, value in parse_qsl(parts.query) if value]
    found += [p.partition("=")[2] for p in parts.query.split("&")]
    found += [parts.username or "", parts.password or ""]
    return [secret for secret in found if len(secret) > 1]


# -- the text -------------------------------------------------------------------------------------


def icon(event: Event) -> str:
    return _GOOD if event.kind in (FINISHED, RECOVERED) else _ICONS.get(event.level, _ICONS[INFO])


def lines(message: Message) -> list[str]:
    """The lines under the title: the job gauge, the details, what the cap held back."""
    event = message.event
    found = [event.summary] if event.summary else []
    found += event.details
    if message.capped:
        plural = "s" if message.capped != 1 else ""
        found.append(f"{message.capped} more alert{plural} not sent (at most {MAX_ALERTS} a run)")
    return [clean(line, LINE_CHARS) for line in found]


def where(context: Context) -> str:
    """``execution #42 · org/project · gpu-1 · member 2/4``."""
    return " \u00b7 ".join(part for part in (context.execution(), context.machine()) if part)


def plain(message: Message) -> str:
    """The alert as plain text: the title, its lines, where it comes from, the link."""
    event, context = message.event, message.context
    text = [f"{icon(event)} {clean(event.title, LINE_CHARS)}", *lines(message), where(context)]
    if context.link:
        text.append(context.link)
    return _fit("\n".join(text), TEXT_LIMIT)


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _discord_escape(text: str) -> str:
    for mark in ("\\", "*", "_", "~", "`", "|", ">", "[", "]"):
        text = text.replace(mark, "\\" + mark)
    return text


def _slack(message: Message) -> dict[str, Any]:
    event, context = message.event, message.context
    head = f"{icon(event)} *{_slack_escape(clean(event.title, LINE_CHARS))}*"
    origin = _slack_escape(where(context))
    if context.link:
        name = _slack_escape(context.execution())
        origin = f"<{context.link}|{name}> \u00b7 {_slack_escape(context.machine())}"
    text = "\n".join([head, *map(_slack_escape, lines(message)), origin])
    return {"text": _fit(text, TEXT_LIMIT)}


def _discord(message: Message) -> dict[str, Any]:
    event, context = message.event, message.context
    head = f"{icon(event)} **{_discord_escape(clean(event.title, LINE_CHARS))}**"
    origin = _discord_escape(where(context))
    if context.link:
        name = _discord_escape(context.execution())
        origin = f"[{name}](<{context.link}>) \u00b7 {_discord_escape(context.machine())}"
    body = [_discord_escape(line) for line in lines(message)]
    while body and len("\n".join([head, *body, origin])) > DISCORD_LIMIT:
        body.pop()  # the details go first: the title and where it comes from stay
    content = _fit("\n".join([head, *body, origin]), DISCORD_LIMIT)
    return {"content": content, "allowed_mentions": {"parse": []}}


def _text_block(text: str, **style: object) -> dict[str, object]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def _teams(message: Message) -> dict[str, Any]:
    event, context = message.event, message.context
    color = "Good" if icon(event) == _GOOD else _TEAMS_COLORS.get(event.level, "Default")
    title = f"{icon(event)} {clean(event.title, LINE_CHARS)}"
    blocks = [_text_block(title, weight="Bolder", size="Medium", color=color)]
    blocks += [_text_block(line, spacing="None") for line in lines(message)]
    blocks.append(_text_block(where(context), isSubtle=True, size="Small"))
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": blocks,
    }
    if context.link:
        action = {"type": "Action.OpenUrl", "title": "Open the execution", "url": context.link}
        card["actions"] = [action]
    attachment = {
        "contentType": "application/vnd.microsoft.card.adaptive",
        "contentUrl": None,
        "content": card,
    }
    return {"type": "message", "attachments": [attachment]}


def _json(message: Message) -> dict[str, Any]:
    event, context = message.event, message.context
    execution = None
    if context.execution_id or context.counter is not None:
        execution = {
            "id": context.execution_id,
            "counter": context.counter,
            "project": context.project,
            "url": context.link,
        }
    member = f"{context.member[0] + 1}/{context.member[1]}" if context.member else None
    return {
        "source": "vhtqdm",
        "event": event.kind,
        "level": event.level,
        "title": clean(event.title, LINE_CHARS),
        "lines": lines(message),
        "job": event.summary,
        "text": plain(message),
        "execution": execution,
        "machine": {"host": context.host, "member": member, "rank": context.rank},
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(message.at)),
        "not_sent": message.capped,
    }


_FORMATS = {SLACK: _slack, DISCORD: _discord, TEAMS: _teams, JSON: _json}


def body(fmt: str, message: Message) -> bytes:
    """The request body for ``fmt``: ASCII-only JSON (every service decodes the escapes)."""
    return json.dumps(_FORMATS.get(fmt, _json)(message), ensure_ascii=True).encode("ascii")

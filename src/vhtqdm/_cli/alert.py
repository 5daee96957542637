"""``vhtqdm alert TEXT [--level L]``: tell the alerts' webhook something from a shell step.

The alert is the library's own (``_alerts``): the format ``VHTQDM_ALERT_FORMAT`` or the URL's
host says, the same words about where it comes from (the execution, its page, the machine), the
same request and retries (429 after its ``Retry-After``, 5xx, refused connections), within
``--timeout``. Sent whatever ``VHTQDM_ALERT_ON`` says, on Valohai or not. A step never fails
because of it, unless ``--strict`` asks for that.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from .. import _log
from .._config import ConfigError, load_endpoint, read_settings
from .._events import INFO, LEVELS
from .status import delivery_options

EXAMPLES = """\
examples:
  vhtqdm alert "Data set downloaded: 1.2 M images"
  vhtqdm alert "Validation accuracy below 0.8" --level warn
  python train.py || vhtqdm alert "train.py failed" --level error

VHTQDM_ALERT_URL is a Slack, Microsoft Teams (workflow) or Discord webhook, or any URL (a JSON
body); set it as a secret environment variable of the step or project.
"""


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Declare ``vhtqdm alert`` and its options."""
    parser = commands.add_parser(
        "alert",
        help="send an alert to VHTQDM_ALERT_URL (Slack, Teams, Discord, any webhook)",
        description="Send TEXT to the webhook VHTQDM_ALERT_URL names, as the library's alerts "
        "are sent (the execution and the machine it comes from), and wait for its delivery. "
        "Without VHTQDM_ALERT_URL it says so and exits 0.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("text", help="what to tell")
    parser.add_argument("--level", choices=LEVELS, default=INFO, help="default: info")
    delivery_options(parser, "alert")
    parser.set_defaults(run=run, parser=parser)


def _say(message: str) -> None:
    """One line on stderr, where a shell step's log keeps it apart from the step's output."""
    sys.stderr.write(f"vhtqdm alert: {_log.redact(message)}\n")


def run(args: argparse.Namespace) -> int:
    """Send the alert; 0 when delivered or not configured, else 0 (or 1 with --strict)."""
    if not args.text.strip():
        _say("nothing to tell: TEXT is empty")
        return 2
    failed = 1 if args.strict else 0
    settings, _ = read_settings(os.environ)
    if settings.disabled:
        _say("VHTQDM_DISABLE is set: the alert is not sent")
        return 0
    if not settings.alert_url:
        _say("VHTQDM_ALERT_URL is not set: the alert is not sent")
        return 0
    from .._alerts import build, usable
    from .._webhooks import url_secrets

    # As the library does: no output of ours or of the HTTP stack's loggers shows the URL.
    _log.set_secrets(url_secrets(settings.alert_url))
    _log.guard_library_logs()
    _log.logger.setLevel(logging.ERROR)  # the command says what happened, once, below
    if not usable(settings.alert_url):
        _say("VHTQDM_ALERT_URL is not an http(s) URL: the alert is not sent")
        return failed
    try:
        endpoint = load_endpoint(os.environ)  # on Valohai: the execution's page is linked
    except ConfigError:
        endpoint = None
    alerts = build(settings, os.environ, endpoint.url if endpoint is not None else None)
    assert alerts is not None  # the URL is usable
    alerts.say(args.text, args.level)
    try:
        if alerts.flush(max(args.timeout, 0.1)):
            return 0
    finally:
        alerts.close()
    _say(f"{alerts.host} did not take the alert ({alerts.problem or 'no answer in time'})")
    return failed

"""``vhtqdm status``: set the execution status once from a shell step, and wait for delivery.

The lines are built by ``_compose``'s element helpers (the same JSON the bars produce) and sent
as the library sends a final status: a ``flush`` of the sender, whose policy retries what may
pass (429 after its ``Retry-After``, 502-504, refused connections) and gives a 500 one more try,
within ``--timeout``. A step never fails because of it, unless ``--strict`` asks for that.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
from typing import Callable

from .. import _log
from .._compose import gauge_line, sparkline_line, text_line
from .._config import ConfigError, config_path, load_endpoint, read_settings
from .._throttle import Result, backoff

DEFAULT_TIMEOUT = 10.0
EXAMPLES = """\
examples:
  vhtqdm status "Downloading the data set…"
  vhtqdm status "Model converged" --color good
  vhtqdm status "Evaluating" --gauge 3 --max 10 --label "shard 3/10"
  vhtqdm status "loss" --sparkline 0.9,0.7,0.4

The status replaces the whole previous one (and a running vhtqdm bar's next update replaces it).
"""


class InputError(Exception):
    """The command line cannot make a status (the message says why)."""


def finite_number(text: str) -> float:
    """An argparse type: a finite number."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return value


def _points(text: str) -> list[float]:
    """An argparse type: comma-separated finite numbers (``0.9,0.7,0.4``)."""
    try:
        return [finite_number(part) for part in text.split(",") if part.strip()]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"not comma-separated numbers: {text!r}") from None


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Declare ``vhtqdm status`` and its options."""
    parser = commands.add_parser(
        "status",
        help="set the execution status once from a shell step (waits for delivery)",
        description="Set the Valohai execution status once: a text line, a gauge and/or a "
        "sparkline. Off Valohai (no $VH_CONFIG_DIR/api.json) it says so and exits 0.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("text", nargs="?", help="the text line")
    parser.add_argument("--color", help="the text's color: good, bad, warn or any CSS color")
    parser.add_argument("--gauge", type=finite_number, metavar="VALUE", help="add a gauge at VALUE")
    parser.add_argument(
        "--max", type=finite_number, default=1.0, help="the gauge's maximum (default 1: a fraction)"
    )
    parser.add_argument("--label", help="the gauge's label")
    parser.add_argument(
        "--sparkline", type=_points, metavar="V1,V2,…", help="add a sparkline of these values"
    )
    delivery_options(parser, "status")
    parser.set_defaults(run=run, parser=parser)


def delivery_options(parser: argparse.ArgumentParser, what: str) -> None:
    """``--timeout`` and ``--strict`` of a one-shot command that delivers ``what`` (a status, an
    alert): how long it keeps trying, and whether failing is the command's failure."""
    parser.add_argument(
        "--timeout",
        type=finite_number,
        default=DEFAULT_TIMEOUT,
        help=f"seconds to keep trying to deliver (default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--strict", action="store_true", help=f"exit 1 when the {what} cannot be delivered"
    )


def build(
    text: str | None,
    color: str | None = None,
    *,
    gauge: float | None = None,
    maximum: float = 1.0,
    label: str | None = None,
    sparkline: list[float] | None = None,
) -> str:
    """The status text: the text line, then the gauge, then the sparkline (those given)."""
    if label is not None and gauge is None:
        raise InputError("--label needs --gauge")
    if gauge is not None and not 0 <= gauge <= maximum:
        raise InputError(f"--gauge {gauge:g} is outside 0…{maximum:g} (set --max)")
    lines = []
    if text is not None and text.strip():
        lines.append(text_line(text, color))
    elif color is not None:
        raise InputError("--color needs a TEXT to color")
    if gauge is not None:
        lines.append(gauge_line(gauge, maximum, label or ""))
    if sparkline is not None:
        if not sparkline:
            raise InputError("--sparkline needs at least one value")
        lines.append(sparkline_line(sparkline))
    if not lines:
        raise InputError("nothing to set: give a TEXT, --gauge or --sparkline")
    return "\n".join(lines)


def _say(message: str) -> None:
    """One line on stderr, where a shell step's log keeps it apart from the step's output."""
    sys.stderr.write(f"vhtqdm status: {_log.redact(message)}\n")


class _Once:
    """The sender's route for one status: the same text, posted through the transport; the
    latest result is kept for the command's one message."""

    interval = 1.0
    backoff = staticmethod(backoff)

    def __init__(self, text: str, post: Callable[[str, float], Result]) -> None:
        self._text = text
        self._post = post
        self.result: Result | None = None

    def prepare(self) -> None:
        pass

    def compose(self) -> tuple[str, bool]:
        return self._text, False

    def deliver(self, text: str, timeout: float) -> Result:
        self.result = self._post(text, timeout)
        return self.result


def run(args: argparse.Namespace) -> int:
    """Post the status once; 0 when delivered or not on Valohai, else 0 (or 1 with --strict)."""
    try:
        status = build(
            args.text,
            args.color,
            gauge=args.gauge,
            maximum=args.max,
            label=args.label,
            sparkline=args.sparkline,
        )
    except InputError as exc:
        _say(str(exc))
        return 2
    failed = 1 if args.strict else 0
    from .._ranks import secondary

    settings, _ = read_settings(os.environ)
    reason = "VHTQDM_DISABLE is set" if settings.disabled else secondary(os.environ)
    if reason is not None:
        _say(f"{reason}: the status is not sent")
        return 0
    try:
        endpoint = load_endpoint(os.environ)
    except ConfigError as exc:
        _say(f"{exc}: the status is not sent")
        return failed
    if endpoint is None:
        _say(f"not on Valohai (no {config_path(os.environ)}): the status is not sent")
        return 0
    # As the library does: no output of ours or of the HTTP stack's loggers shows a secret.
    _log.set_secrets(endpoint.secrets())
    _log.guard_library_logs()
    _log.logger.setLevel(logging.ERROR)  # the command says what happened, once, below
    from .._sender import Sender
    from .._transport import Transport  # imports requests: only when there is a config

    transport = Transport(endpoint)
    route = _Once(status, transport.post)
    try:
        if Sender(route, where=endpoint.host).flush(max(args.timeout, 0.1)):
            return 0
    finally:
        transport.close()
    detail = route.result.detail if route.result is not None else "no answer in time"
    _say(f"{endpoint.host} did not take the status ({detail}); it is not set")
    return failed

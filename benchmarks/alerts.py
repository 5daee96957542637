"""``python -m benchmarks --alerts``: every figure with alerts on, and the exit when the alerts'
webhook hangs too.

Every child gets ``VHTQDM_ALERT_URL`` at a loopback webhook that answers at once (the test
suite's recording server, which takes any JSON: vhtqdm's own format), so each figure measures
vhtqdm with its alerts' thread and webhook in play: every run tells its finish, figure 5's
final status hangs while its alert goes. Figure 5b: the status server and the webhook both hang.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter

from vhtqdm._config import DEFAULT_FLUSH_TIMEOUT

from .harness import EXTRA, ROOT, Row, child_env, workload_command
from .servers import Answer, Site, Sites


def enable(sites: Sites) -> Site:
    """Open the loopback webhook and point every child at it."""
    webhook = sites.open("webhook")
    EXTRA["VHTQDM_ALERT_URL"] = webhook.server.url
    return webhook


def exit_time(sites: Sites) -> list[Row]:
    """Figure 5b: seconds from the loop's end to the process's end, status server and webhook
    both hung (neither ever answers)."""
    status, webhook = (
        sites.open("hung-5b", Answer(hang=True)),
        sites.open("hung-hook", Answer(hang=True)),
    )
    env = child_env(status.config, {"VHTQDM_ALERT_URL": webhook.server.url})

    def seconds() -> float:
        proc = subprocess.run(
            workload_command("exit_hung", "vhtqdm"),
            env=env, cwd=str(ROOT), capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        ended = time.monotonic()
        return ended - float(json.loads(proc.stdout.splitlines()[-1])["loop_end"])

    worst = max(seconds() for _ in range(3))
    limit = DEFAULT_FLUSH_TIMEOUT + 0.5
    return [
        Row(
            "5b",
            "process exit after the loop, status server and alerts' webhook both hung",
            f"{worst:.2f} s",
            f"<= {limit:.1f} s",
            worst <= limit,
            f"worst of 3; flush timeout {DEFAULT_FLUSH_TIMEOUT:g} s, shared by the final status "
            f"and the finish alert; webhook reached {webhook.server.attempts} times",
        )
    ]


def received(webhook: Site) -> Row:
    """What the loopback webhook was told during the whole run (information)."""
    told = Counter(str(post.body.get("event")) for post in webhook.server.posts)
    return Row(
        "A",
        "alerts the loopback webhook received during the run (every vhtqdm child alerting)",
        str(sum(told.values())),
        "(information)",
        None,
        ", ".join(f"{count} {event}" for event, count in told.most_common()),
    )

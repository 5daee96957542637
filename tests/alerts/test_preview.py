"""``vhtqdm preview`` shows the alerts a job would send (its stand-in webhook: on the page and in
the report) and sends nothing anywhere."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterator

import pytest
import requests

from vhtqdm._cli.preview_server import PreviewServer, PreviewState

from ..cli.runner import vhtqdm
from .hooks import Webhook

JOB = textwrap.dedent(
    """
    import time, vhtqdm
    from vhtqdm import tqdm
    vhtqdm.alert("warming up")
    bar = tqdm(range(20), desc="train", status_interval=0.5)
    for i in bar:
        time.sleep(0.1)  # statuses for a second after the NaN, on a loaded machine too
        bar.set_postfix(loss=float("nan") if i == 3 else 1.0 / (i + 1))
        if i == 15:
            raise RuntimeError("diverged")
    """
)


@pytest.mark.slow
def test_the_report_lists_the_alerts_and_nothing_reaches_the_jobs_own_webhook(
    hook: Webhook,
) -> None:
    env = {"VHTQDM_ALERT_URL": hook.url, "VHTQDM_ALERT_FORMAT": "slack"}
    ran = vhtqdm("preview", "--port", "0", "--", sys.executable, "-c", JOB, env=env, timeout=60)
    assert ran.code == 1
    report = ran.err[ran.err.index("alerts the job would send") :].splitlines()
    assert report == [
        "alerts the job would send (as slack messages to VHTQDM_ALERT_URL outside the preview; "
        "nothing was sent there):",
        "  [info] message: warming up",
        "  [error] nan: loss turned nan at step 3",
        "  [error] failed: Failed at train 15/20: RuntimeError: diverged",
    ]
    assert hook.attempts == []  # the preview's stand-in took them all


@pytest.mark.slow
def test_without_a_webhook_of_its_own_the_report_says_how_to_get_one() -> None:
    job = "from vhtqdm import tqdm\nfor _ in tqdm(range(3)): pass"
    ran = vhtqdm("preview", "--port", "0", "--", sys.executable, "-c", job, timeout=60)
    assert ran.code == 0, ran.err
    assert (
        "vhtqdm preview: 1 alert the job would send (set VHTQDM_ALERT_URL to send them to Slack, "
        "Teams, Discord or any webhook):\n  [info] finished: Finished in 00:00\n"
    ) in ran.err


@pytest.fixture
def preview() -> Iterator[PreviewServer]:
    server = PreviewServer(PreviewState("python train.py"), 0)
    server.start()
    yield server
    server.close()


ALERT = {
    "event": "stalled",
    "level": "warn",
    "title": "stalled for 6 min at train 412/1875",
    "lines": ["job 58% \u00b7 stalled"],
    "text": "…",
}


def test_the_stand_in_webhook_keeps_alerts_for_the_page(preview: PreviewServer) -> None:
    assert requests.post(preview.alert_url, json=ALERT, timeout=5).status_code == 200
    (alert,) = requests.get(f"{preview.url}state.json", timeout=5).json()["alerts"]
    assert {k: alert[k] for k in ("seq", "event", "level", "title", "lines")} == {
        "seq": 1, **{k: ALERT[k] for k in ("event", "level", "title", "lines")}
    }  # fmt: skip


@pytest.mark.parametrize(
    ("where", "body", "code"),
    [
        ("/alerts/not-the-key/", ALERT, 404),  # the key is in the path, as Slack's is
        (None, {"text": "a Slack body"}, 400),  # not vhtqdm's JSON
        (None, "not json", 400),
    ],
)
def test_what_is_not_the_jobs_alert_is_refused_and_counted(
    preview: PreviewServer, where: str | None, body: object, code: int
) -> None:
    url = preview.alert_url if where is None else f"{preview.url.rstrip('/')}{where}"
    data = json.dumps(body) if not isinstance(body, str) else body
    headers = {"Content-Type": "application/json"}
    assert requests.post(url, data=data, headers=headers, timeout=5).status_code == code
    state = requests.get(f"{preview.url}state.json", timeout=5).json()
    assert (state["alerts"], state["rejected"]) == ([], 1)

"""The alerts' webhook URL is a secret (Slack and Discord keep their key in its path, a Teams
workflow its signature in its query): it reaches no output, log, warning, exception or repr, in
any encoding, whatever the webhook does; the status's token neither."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

import vhtqdm
from vhtqdm import _process, tqdm

from ..alerts.hooks import KEY, SERVICES, Reply, Webhook
from ..helpers import run_script
from ..server import TOKEN, StatusServer
from .scenarios import free_port
from .test_secrets import QUERY_SECRET, configure, forms

SIGNATURE = "S1g%2Bn4ture%2Fxy"  # percent-encoded, as a Teams workflow's sig is


@pytest.fixture
def hook() -> Iterator[Webhook]:
    webhook = Webhook("json")
    yield webhook
    webhook.close()


def secret_forms(url: str) -> set[str]:
    return forms(KEY) | forms(SIGNATURE) | {url, TOKEN, QUERY_SECRET}


def leaked(text: str, url: str) -> list[str]:
    return sorted(form for form in secret_forms(url) if form in text)


@pytest.mark.parametrize("failure", ["ok", "500", "404", "hang", "refused", "unresolvable"])
def test_the_webhook_url_is_in_no_log_output_or_repr(
    failure: str,
    server: StatusServer,
    hook: Webhook,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)  # urllib3's request lines (with the path) included
    path = f"{SERVICES['json'].path}?sig={SIGNATURE}"
    url = f"{hook.url.split('/hooks/')[0]}{path}"
    if failure == "refused":
        url = f"http://127.0.0.1:{free_port()}{path}"
    elif failure == "unresolvable":
        url = f"http://hooks.vhtqdm.invalid{path}"
    elif failure == "hang":
        hook.script = [Reply(hang=True)]
    elif failure != "ok":
        hook.script = [Reply(int(failure))] * 10
    configure(tmp_path, server.url, monkeypatch)  # on Valohai, with the status's own secrets
    monkeypatch.setenv("VHTQDM_ALERT_URL", url)
    bar = tqdm(total=10, desc="train", status_interval=0.5, file=io.StringIO())
    vhtqdm.alert("look at this")
    bar.update(10)
    bar.close()
    vhtqdm.flush(2.0)
    mirror = _process.get()
    assert mirror is not None and mirror.observe is not None
    alerts = mirror.observe.__self__  # type: ignore[attr-defined]
    records = [r.getMessage() for r in caplog.records]
    captured = capsys.readouterr()
    everything = "\n".join(
        [
            captured.out,
            captured.err,
            *records,
            repr(mirror),
            repr(mirror.settings),
            str(vars(mirror)),
            repr(alerts),
            str(vars(alerts)),
            str(vars(alerts.sender)),
            repr(alerts._post),  # the webhook's client
        ]
    )
    assert leaked(everything, url) == []
    if failure == "ok":
        assert hook.calls and hook.calls[0].path == path  # the real URL was used
        posted = [r for r in records if "POST" in r and "HTTP/1.1" in r]
        assert any("POST *** HTTP/1.1" in r for r in posted), posted  # urllib3's line, masked
    if failure in ("500", "404", "refused"):
        assert any("vhtqdm:" in r and "alert" in r for r in records), records


def test_a_jobs_warning_shows_the_webhooks_host_only(hook: Webhook) -> None:
    hook.script = [Reply(403)]
    url = f"{hook.url}?sig={SIGNATURE}"
    run = run_script(
        "import vhtqdm\nvhtqdm.alert('hello')\nvhtqdm.flush(5)",
        None,
        env={"VHTQDM_ALERT_URL": url, "VHTQDM_ALERT_ON": "", "VHTQDM_ALERTS_ON": "typo"},
    )
    assert run.code == 0, run.err
    assert "vhtqdm: 127.0.0.1 refused the alerts (HTTP 403" in run.err
    assert "VHTQDM_ALERTS_ON is not a vhtqdm setting (did you mean VHTQDM_ALERT_ON?)" in run.err
    assert leaked(run.out + run.err, url) == []


@pytest.mark.parametrize("value", ["hooks.slack.com/services/T0/B0/" + KEY, "ftp://x/" + KEY])
def test_an_unusable_url_is_one_warning_that_never_quotes_it(value: str) -> None:
    run = run_script(
        "from vhtqdm import tqdm\nfor _ in tqdm(range(3)): pass",
        None,
        env={"VHTQDM_ALERT_URL": value},
    )
    assert run.code == 0
    assert "vhtqdm: VHTQDM_ALERT_URL is not an http(s) URL: no alert is sent" in run.err
    assert KEY not in run.err and "T0/B0" not in run.err

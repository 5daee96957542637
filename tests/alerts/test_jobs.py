"""Alerts of real jobs, each in its own interpreter: failure, SIGTERM, stall and recovery, NaN,
finish, ``vhtqdm.alert``, the cap; on Valohai (with the status server) and off it; and a hung
or refusing webhook, which must leave the status and the exit bound as they are."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from ..helpers import ROOT, failing_import_once, job_env, run_script
from ..server import Answer, StatusServer, write_api_json
from .hooks import Reply, Webhook

pytestmark = pytest.mark.slow

EXECUTION = "0189c3f2-aaaa-bbbb-cccc-1234567890ab"
FLUSH = 1.0  # VHTQDM_FLUSH_TIMEOUT of these jobs


@pytest.fixture
def valohai(server: StatusServer, tmp_path: Path) -> Path:
    """A Valohai config dir: api.json at the status server, and the execution's execution.json."""
    config = tmp_path / "valohai"
    config.mkdir()
    write_api_json(config, server.url)
    execution = {
        "valohai.execution-counter": 42,
        "valohai.execution-id": EXECUTION,
        "valohai.project-name": "acme/vision",
    }
    (config / "execution.json").write_text(json.dumps(execution))
    return config


def env(hook: Webhook, **more: str) -> dict[str, str]:
    return {"VHTQDM_ALERT_URL": hook.url, "VHTQDM_FLUSH_TIMEOUT": str(FLUSH), **more}


def events(hook: Webhook) -> list[str]:
    return [call.body["event"] for call in hook.calls]


def alert(hook: Webhook, event: str) -> dict[str, Any]:
    (found,) = [call.body for call in hook.calls if call.body["event"] == event]
    return found  # type: ignore[no-any-return]


def status_texts(server: StatusServer) -> list[str]:
    return [text for post in server.posts for text in post.texts()]


FAILING = """
    from vhtqdm import tqdm, trange
    for epoch in trange(3, desc="epoch", status_interval=0.5):
        for step in tqdm(range(10), desc="train"):
            if epoch == 1 and step == 4:
                raise RuntimeError("CUDA out of memory")
"""


def test_a_failure_is_told_as_the_status_tells_it_naming_the_execution(
    server: StatusServer, valohai: Path, hook: Webhook
) -> None:
    run = run_script(FAILING, valohai, env=env(hook, VH_EXECUTION_ID=EXECUTION))
    assert run.code == 1 and "RuntimeError: CUDA out of memory" in run.err
    failure = [t for t in status_texts(server) if t.startswith("Failed at")]
    assert failure == ["Failed at train 4/10: RuntimeError: CUDA out of memory"]  # final status
    assert events(hook) == ["failed"]
    told = alert(hook, "failed")
    assert told["level"] == "error" and told["title"] == failure[0]
    assert told["job"] == "job 46%" and told["lines"][0] == "job 46%"  # where it got: 1.4 of 3
    link = f"http://127.0.0.1:{server.port}/p/acme/vision/execution/{EXECUTION}/"
    assert told["execution"] == {
        "id": EXECUTION, "counter": 42, "project": "acme/vision", "url": link
    }  # fmt: skip
    assert told["machine"] == {"host": socket.gethostname(), "member": None, "rank": None}
    origin = f"execution #42 \u00b7 acme/vision \u00b7 {socket.gethostname()}"
    assert told["text"].endswith(f"{origin}\n{link}")


def test_a_finish_tells_its_duration_story_and_metrics(hook: Webhook) -> None:
    run = run_script(
        """
        import time
        from vhtqdm import tqdm
        for _ in tqdm(range(5), desc="prepare"):
            time.sleep(0.01)
        bar = tqdm(range(20), desc="train")
        for i in bar:
            bar.set_postfix(loss=1.0 / (i + 1))
        """,
        None,  # off Valohai: alerts still go, nothing else is posted anywhere
        env=env(hook),
        raw=True,
    )
    assert run.code == 0, run.err
    assert events(hook) == ["finished"]
    told = alert(hook, "finished")
    assert re.fullmatch(r"Finished in 00:0\d", told["title"]), told["title"]
    prepare, train, loss = told["lines"]
    assert prepare.startswith("prepare 5/5 \u00b7 ") and prepare.endswith(" \u00b7 done")
    assert train.startswith("train 20/20 \u00b7 ") and train.endswith(" \u00b7 done")
    assert loss == "loss 0.05 \u00b7 min 0.05 \u00b7 max 1"
    assert told["execution"] is None
    assert "\r" in run.err and "vhtqdm" not in run.err  # tqdm's own drawing, no log mode


def test_a_stall_is_told_then_its_end(server: StatusServer, valohai: Path, hook: Webhook) -> None:
    run = run_script(
        """
        import time
        from vhtqdm import tqdm
        for i in tqdm(range(40), desc="train", status_interval=0.5, stall_after=1):
            time.sleep(3.0 if i == 10 else 0.05)  # statuses for 1.5 s after the hang: it ended
        """,
        valohai,
        env=env(hook),
    )
    assert run.code == 0, run.err
    assert events(hook) == ["stalled", "recovered", "finished"]
    stalled = alert(hook, "stalled")
    said = [t for t in status_texts(server) if t.startswith("stalled for")]
    assert stalled["title"] == said[0]  # the status's words, as the status first said them
    assert stalled["level"] == "warn" and re.fullmatch(r"train \d+/40", stalled["job"])
    assert re.fullmatch(r"no longer stalled, after 00:0[1-3] without progress",
                        alert(hook, "recovered")["title"])  # fmt: skip


def test_a_nan_names_the_step_the_status_names(
    server: StatusServer, valohai: Path, hook: Webhook
) -> None:
    run = run_script(
        """
        import time
        from vhtqdm import tqdm, trange
        for epoch in trange(3, desc="epoch", status_interval=0.5):
            bar = tqdm(range(10), desc="train")
            for i in bar:
                time.sleep(0.08)  # an epoch after the NaN: statuses are composed meanwhile
                bar.set_postfix(loss=float("nan") if (epoch, i) == (1, 3) else 1.0 / (i + 1))
        """,
        valohai,
        env=env(hook),
    )
    assert run.code == 0, run.err
    assert events(hook) == ["nan", "finished"]
    said = set(re.findall(r"nan at step (\d+)", "\n".join(status_texts(server))))
    told = alert(hook, "nan")
    assert said == {"13"} and told["title"] == "loss turned nan at step 13"  # epoch 1, batch 3
    assert told["level"] == "error" and told["job"].startswith("job ")


def test_a_failed_import_on_the_alerts_thread_is_tried_again(hook: Webhook) -> None:
    # Fails on the previous code: the alerts' thread imported requests once; when that import
    # failed (a module the job's thread was still importing, as CPython 3.9 allows), every
    # alert of the job was dropped ("no HTTP client").
    run = run_script(
        failing_import_once("requests", thread="vhtqdm-alerts")
        + textwrap.dedent(
            """
        from vhtqdm import tqdm
        for _ in tqdm(range(5), desc="train"):
            pass
        """
        ),
        None,
        env=env(hook),
    )
    assert run.code == 0, run.err
    assert events(hook) == ["finished"], run.err


def test_vhtqdm_alert_is_always_sent_and_the_cap_is_told_at_the_end(hook: Webhook) -> None:
    run = run_script(
        """
        import vhtqdm
        from vhtqdm import tqdm
        for i in tqdm(range(25), desc="files"):
            vhtqdm.alert(f"file {i} is odd", level="warn")
        vhtqdm.alert("last", level="nonsense")
        """,
        None,
        env=env(hook, VHTQDM_ALERT_ON="finished", VHTQDM_FLUSH_TIMEOUT="10"),
    )
    assert run.code == 0, run.err
    assert events(hook) == ["message"] * 20 + ["finished"]
    titles = [call.body["title"] for call in hook.calls[:20]]
    assert titles == [f"file {i} is odd" for i in range(20)]
    assert all(call.body["level"] == "warn" for call in hook.calls[:20])
    assert alert(hook, "finished")["lines"][-1] == "6 more alerts not sent (at most 20 a run)"
    assert "vhtqdm: vhtqdm.alert: level 'nonsense' is not one of info, warn, error" in run.err


def test_only_the_chosen_events_are_told(hook: Webhook) -> None:
    run = run_script(FAILING, None, env=env(hook, VHTQDM_ALERT_ON="finished,stalled"))
    assert run.code == 1
    assert hook.calls == []  # a failed run is no finish, and failed was not chosen


JOB = """
    import time, vhtqdm
    from vhtqdm import tqdm
    vhtqdm.alert("starting")
    for i in tqdm(range(STEPS), desc="train", status_interval=0.5):
        if i == 3:
            print("ready", flush=True)
        time.sleep(0.05)
    print(f"loop_end={time.monotonic()}", flush=True)
"""


def test_sigterm_is_told_as_stopped_within_the_exit_bound(
    server: StatusServer, valohai: Path, hook: Webhook
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(JOB).replace("STEPS", "1000")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=job_env(valohai, env(hook)), cwd=str(ROOT),
    )  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        assert server.wait_for(bool, timeout=20) and hook.wait_for(1)
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
        took = time.monotonic() - sent
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGTERM
    assert took < FLUSH + 1 + 1.5  # the bound, and 1.5 s for a loaded machine
    assert events(hook) == ["message", "stopped"]
    stopped = alert(hook, "stopped")
    assert stopped["level"] == "warn"
    assert re.fullmatch(r"Stopped at train \d+/1000", stopped["title"])
    assert stopped["title"] in status_texts(server)  # with the final status, as it says it


def run_until_exit(valohai: Path, hook: Webhook) -> tuple[float, str]:
    """Run ``JOB`` (a 2 s loop, then the exit); seconds from its loop's end to its exit."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(JOB).replace("STEPS", "40")],
        capture_output=True, text=True, env=job_env(valohai, env(hook)), cwd=str(ROOT), timeout=60,
        check=False,
    )  # fmt: skip
    ended = time.monotonic()
    assert proc.returncode == 0, proc.stderr
    loop_end = float(re.search(r"loop_end=([\d.]+)", proc.stdout).group(1))  # type: ignore[union-attr]
    return ended - loop_end, proc.stderr


def test_a_hung_webhook_leaves_the_status_and_the_exit_bound_untouched(
    server: StatusServer, valohai: Path, hook: Webhook
) -> None:
    hook.script = [Reply(hang=True)] * 10
    seconds, err = run_until_exit(valohai, hook)
    assert seconds < FLUSH + 0.8  # the final status's bound, whatever the webhook does
    assert hook.attempts and hook.calls == []
    # The statuses went on every 0.5 s while the alerts' thread waited on the hung webhook.
    during = [post.at for post in server.posts]
    assert len(during) >= 4 and max(b - a for a, b in zip(during, during[1:])) < 1.5
    assert server.last is not None and server.last.elements[0]["color"] == "good"  # final
    assert "vhtqdm" not in err  # a hung request is no failure to report (it never ends)


def test_a_refusing_webhook_is_one_warning_and_the_status_goes_on(
    server: StatusServer, valohai: Path, hook: Webhook
) -> None:
    hook.script = [Reply(500)] * 50
    seconds, err = run_until_exit(valohai, hook)
    assert seconds < FLUSH + 0.8
    assert hook.calls == [] and len(hook.attempts) >= 2
    assert server.last is not None and server.last.elements[0]["color"] == "good"
    warnings = [line for line in err.splitlines() if "vhtqdm:" in line]
    assert len(warnings) == 1 and "alerts to 127.0.0.1 are failing (HTTP 500)" in warnings[0]


def test_the_last_word_goes_even_when_a_hung_status_request_holds_the_statuss_thread(
    server: StatusServer, valohai: Path, hook: Webhook
) -> None:
    server.answer = Answer(hang=True)  # the first status never gets an answer
    started = time.monotonic()
    hung = """
        import time
        from vhtqdm import tqdm
        for step in tqdm(range(10), desc="train"):
            time.sleep(0.3)  # the first status is sent, and hangs, meanwhile
            if step == 4:
                raise RuntimeError("CUDA out of memory")
    """
    run = run_script(hung, valohai, env=env(hook, VHTQDM_FLUSH_TIMEOUT="2"))
    assert run.code == 1
    assert time.monotonic() - started < 1.5 + 2 + 3  # the loop, the bound, a loaded machine
    assert server.posts == [] and server.attempts == 1  # the first status hung: no other went
    told = alert(hook, "failed")  # told by the record at half the bound
    assert told["title"] == "Failed at train 4/10: RuntimeError: CUDA out of memory"

"""The shipped examples, run as a Valohai job would run them, against the recording server."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import ROOT, Run, run_script
from .server import StatusServer

pytestmark = pytest.mark.slow


def run_example(name: str, config_dir: Path, timeout: float) -> Run:
    """``python examples/NAME`` as a job, its ``sys.argv`` as the script would see it."""
    return run_script(
        f"import runpy, sys; sys.argv = [{name!r}]; "
        f"runpy.run_path({str(ROOT / 'examples' / name)!r}, run_name='__main__')",
        config_dir,
        timeout=timeout,
    )


def test_train_example_mirrors_gauges_a_loss_sparkline_and_ends_complete(
    server: StatusServer, config_dir: Path
) -> None:
    run = run_example("train.py", config_dir, timeout=60)
    assert run.code == 0, run.err
    assert run.out.startswith("final loss ")
    assert server.posts[0].elements == [{"type": "text", "text": "Loading training data\u2026"}]
    assert server.posts[-1].texts()[0] == "Training a toy model: 3 epochs of 80 batches"
    running = [p for p in server.posts if len(p.of_type("gauge")) == 2]
    assert running, "no status showed the epoch and the batch gauges together"
    sparklines = [s for p in server.posts for s in p.of_type("sparkline")]
    assert sparklines and max(len(s["values"]) for s in sparklines) >= 3
    assert sparklines[-1]["values"][0] > sparklines[-1]["values"][-1]  # the loss decays
    last = server.posts[-1]
    assert [g.get("color") for g in last.of_type("gauge")] == ["good", "good"]
    assert last.of_type("gauge")[0]["label"].startswith("epoch 3/3 ")
    assert any(t.startswith("loss ") for t in last.texts())


def test_pytorch_example_posts_only_from_the_main_process(
    server: StatusServer, config_dir: Path
) -> None:
    pytest.importorskip("torch", reason="torch is not installed (`nox -s integrations` has it)")
    run = run_script(
        f"import runpy; runpy.run_path({str(ROOT / 'examples' / 'pytorch_dataloader.py')!r},"
        " run_name='__main__')",
        config_dir,
        timeout=180,
    )
    assert run.code == 0, run.err
    assert server.last is not None
    assert [g.get("color") for g in server.last.of_type("gauge")] == ["good", "good"]


def test_long_run_example_tells_the_jobs_progress_its_stall_and_its_phases(
    server: StatusServer, config_dir: Path
) -> None:
    run = run_example("long_run.py", config_dir, timeout=90)
    assert run.code == 0, run.err
    assert run.out.startswith("final loss ")
    assert run.seconds < 60
    # The whole job's gauge opens the status while the epochs run, and it only rises.
    jobs = [
        (i, p.elements[0])
        for i, p in enumerate(server.posts)
        if p.elements and str(p.elements[0].get("label", "")).startswith("job ")
    ]
    assert len(jobs) >= 5
    values = [job["value"] for _, job in jobs]
    assert all(job["min"] == 0 and job["max"] == 1 for _, job in jobs)
    assert values == sorted(values) and values[0] < 0.4 and values[-1] > 0.8, values
    # The hang: a "stalled" line while it lasts, gone once the loop moves again.
    stalled = [i for i, p in enumerate(server.posts) if "stalled" in p.status]
    assert stalled, "the hang was never reported"
    line = next(t for t in server.posts[stalled[0]].texts() if "stalled" in t)
    assert line.startswith("stalled for ") and " at train " in line
    assert any(i > stalled[-1] for i, _ in jobs), "the stall never cleared while the job ran"
    # The final status tells the run's story: each earlier phase, then the last bar.
    last = server.posts[-1]
    texts = last.texts()
    assert any(t.startswith("prepare 20/20 \u00b7 ") and t.endswith(" \u00b7 done") for t in texts)
    assert any(t.startswith("epoch 3/3 \u00b7 ") and t.endswith(" \u00b7 done") for t in texts)
    (gauge,) = last.of_type("gauge")
    assert gauge["label"].startswith("test 20/20 ") and gauge["color"] == "good"
    assert not any("stalled" in t for t in texts)
    # The NaN of epoch 1's batch 20 (40 batches an epoch), told at the step of the whole run.
    assert any(t.startswith("train loss ") and "nan at step 60 \u00b7" in t for t in texts), texts


def test_the_readmes_first_command_keeps_the_page_up_until_ctrl_c() -> None:
    # The README's first command, as a newcomer types it, minus the venv it builds: the page it
    # points at stays up after the 6-second job, until Ctrl-C (it used to go with the job).
    import json
    import signal
    import subprocess
    import sys
    import time
    import urllib.request

    from .helpers import job_env

    first = next(
        line for line in (ROOT / "README.md").read_text().splitlines() if " preview " in line
    )
    words = first.split("&& ")[-1].split()
    assert words[:2] == [".venv/bin/vhtqdm", "preview"] and "--hold" in words, first
    command = [sys.executable, "-m", "vhtqdm", *words[1:]]
    command[command.index(".venv/bin/python")] = sys.executable
    proc = subprocess.Popen(
        [*command[:4], "--port", "0", *command[4:]],
        cwd=ROOT,
        env=job_env(None, {"PYTHONUNBUFFERED": "1"}),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        url = proc.stderr.readline().split()[2]  # "vhtqdm preview: http://127.0.0.1:PORT/ …"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if "still serving" in proc.stderr.readline():
                break
        time.sleep(1.0)  # the job has ended a while ago: the page is still there
        with urllib.request.urlopen(url + "state.json", timeout=5) as answer:
            state = json.load(answer)
        assert state["status"] == "complete" and state["count"] > 0, state
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.communicate()

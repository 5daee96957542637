"""``vhtqdm watch --json`` and ``--exit-status``: progress for pipelines, from the REST stand-in."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from vhtqdm._compose import gauge_line, sparkline_line, text_line

from .api_server import (
    API_TOKEN,
    EXECUTION_ID,
    PROJECT_ID,
    ApiServer,
    execution,
    execution_route,
    page,
)
from .conftest import FakeClock, Watcher
from .runner import cli_env, vhtqdm

ROUTE = execution_route()
TASK_ID = "0185c5e9-7777-8888-9999-0123456789ab"
TASK_ROUTE = f"/api/v0/executions/?task={TASK_ID}"
TRAINING = "\n".join(
    [
        gauge_line(0.58, 1, "job 58% · ETA 2:14:05 · elapsed 1:18:00"),
        gauge_line(1.74, 3, "epoch 1/3 · ETA 2:14:05"),
        gauge_line(200, 250, "train 200/250 · 38.20it/s · ETA 00:01"),
        text_line("loss 0.473 · min 0.4589 · max 2.371"),
        sparkline_line([2.371, 1.2, 0.4589, 0.473]),
    ]
)
LATER = TRAINING.replace("58%", "60%").replace("2:14:05", "2:00:00")
STALLED = "\n".join(
    [
        gauge_line(0.6, 1, "job 60% · stalled · elapsed 1:30:00", "warn"),
        text_line("stalled for 6 min at train 412/1875 (usual step 0.3 s)", "warn"),
    ]
)


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VALOHAI_TOKEN", API_TOKEN)


def objects(out: str) -> list[dict[str, Any]]:
    """Every line of stdout as a JSON object (fails on anything else)."""
    found = [json.loads(line) for line in out.splitlines()]
    assert all(isinstance(o, dict) for o in found), out
    return found


def test_one_object_per_change_until_the_execution_ends(
    api: ApiServer, watch: Watcher, clock: FakeClock
) -> None:
    api.routes[ROUTE] = [
        execution("queued", None),
        execution("started", TRAINING),
        execution("started", TRAINING),  # unchanged: no object
        execution("started", LATER),
        execution("started", STALLED),
        execution("complete", text_line("Model converged", "good")),
    ]
    ran = watch("--host", api.host, EXECUTION_ID, "--json", "--interval", "60")
    assert ran.code == 0, ran.err
    assert ran.err == ""
    assert clock.sleeps == [60] * 5
    queued, started, later, stalled, complete = objects(ran.out)
    assert queued == {
        "counter": 42,
        "id": EXECUTION_ID,
        "status": "queued",
        "progress": None,
        "eta_seconds": None,
        "finishes_at": None,
        "stalled": False,
        "metrics": {},
        "lines": [],
    }
    assert started["status"] == "started"
    assert (started["progress"], started["eta_seconds"]) == (0.58, 8045.0)
    assert started["finishes_at"] == "2025-03-01T21:15:05Z"  # seen at 19:01 UTC, +2:14:05
    assert started["stalled"] is False
    assert started["metrics"] == {
        "loss": {"latest": 0.473, "min": 0.4589, "max": 2.371, "non_finite_step": None}
    }
    assert started["lines"][0] == {
        "type": "gauge",
        "value": 0.58,
        "min": 0.0,
        "max": 1.0,
        "label": "job 58% · ETA 2:14:05 · elapsed 1:18:00",
        "color": None,
    }
    assert started["lines"][3] == {
        "type": "text",
        "text": "loss 0.473 · min 0.4589 · max 2.371",
        "color": None,
    }
    assert started["lines"][4] == {
        "type": "sparkline",
        "values": [2.371, 1.2, 0.4589, 0.473],
        "color": None,
    }
    # Seen at 19:03 (two minutes after the first, unchanged, status), 2:00:00 left.
    assert (later["eta_seconds"], later["finishes_at"]) == (7200.0, "2025-03-01T21:03:00Z")
    assert (stalled["stalled"], stalled["progress"], stalled["eta_seconds"]) == (True, 0.6, None)
    assert stalled["finishes_at"] is None
    assert complete["status"] == "complete"
    assert complete["lines"] == [{"type": "text", "text": "Model converged", "color": "good"}]


def test_once_prints_one_object_per_execution(api: ApiServer, watch: Watcher) -> None:
    first = execution("started", TRAINING, counter=41, execution_id="e-41")
    second = execution("queued", None, counter=43, execution_id="e-43")
    api.routes[TASK_ROUTE] = [page([first, second])]
    ran = watch("--host", api.host, "--task", TASK_ID, "--json", "--once")
    assert ran.code == 0, ran.err
    assert [(o["counter"], o["id"], o["status"]) for o in objects(ran.out)] == [
        (41, "e-41", "started"),
        (43, "e-43", "queued"),
    ]


def test_many_executions_each_print_when_they_change(
    api: ApiServer, watch: Watcher, clock: FakeClock
) -> None:
    def both(first: str, second: str) -> dict[str, Any]:
        return page(
            [
                execution(first, None, counter=41, execution_id="e-41"),
                execution(second, None, counter=43, execution_id="e-43"),
            ]
        )

    api.routes[TASK_ROUTE] = [
        both("started", "queued"),
        both("started", "started"),
        both("complete", "started"),
        both("complete", "error"),
    ]
    ran = watch("--host", api.host, "--task", TASK_ID, "--json")
    assert ran.code == 0, ran.err
    assert [(o["counter"], o["status"]) for o in objects(ran.out)] == [
        (41, "started"),
        (43, "queued"),
        (43, "started"),
        (41, "complete"),
        (43, "error"),
    ]
    assert clock.sleeps == [5, 5, 5]


def test_an_outage_is_told_once_on_stderr(api: ApiServer, watch: Watcher, clock: FakeClock) -> None:
    api.routes[ROUTE] = [
        execution("started", TRAINING),
        503,
        503,
        execution("complete", None),
    ]
    ran = watch("--host", api.host, EXECUTION_ID, "--json")
    assert ran.code == 0, ran.err
    assert [o["status"] for o in objects(ran.out)] == ["started", "complete"]
    assert ran.err == f"vhtqdm watch: ({api.host} answered HTTP 503; retrying)\n"


def test_an_error_is_one_line_on_stderr_and_nothing_on_stdout(
    api: ApiServer, watch: Watcher
) -> None:
    ran = watch("--host", api.host, "no-such-id", "--json")
    assert ran.code == 1
    assert ran.out == ""
    assert (
        ran.err == f"vhtqdm watch: no execution no-such-id on {api.host} (HTTP 404): check the id\n"
    )


def test_nothing_running_is_said_on_stderr(api: ApiServer, watch: Watcher) -> None:
    api.routes[f"/api/v0/executions/?project={PROJECT_ID}&status=started"] = [page([])]
    ran = watch("--host", api.host, "--project", PROJECT_ID, "--json", "--exit-status")
    assert (ran.code, ran.out) == (0, "")
    assert ran.err == f"vhtqdm watch: no running executions in project {PROJECT_ID}\n"


@pytest.mark.parametrize(
    ("ending", "code"), [("complete", 0), ("error", 1), ("crashed", 1), ("stopped", 3)]
)
def test_exit_status_tells_how_the_execution_ended(
    api: ApiServer, watch: Watcher, ending: str, code: int
) -> None:
    api.routes[ROUTE] = [execution("started", TRAINING), execution(ending, None)]
    ran = watch("--host", api.host, EXECUTION_ID, "--exit-status")
    assert ran.code == code, ran.err
    assert ran.out.split("\n\n")[-1].startswith(f"#42 train (mnist) · {ending}")


@pytest.mark.parametrize(
    ("endings", "code"),
    [
        (["complete", "complete"], 0),
        (["complete", "stopped"], 3),
        (["stopped", "error", "complete"], 1),  # a failure wins over a stop
        (["crashed", "complete"], 1),
    ],
)
def test_exit_status_of_many_once_all_have_ended(
    api: ApiServer, watch: Watcher, clock: FakeClock, endings: list[str], code: int
) -> None:
    running = [execution("started", None, i, f"e-{i}") for i in range(len(endings))]
    ended = [execution(status, None, i, f"e-{i}") for i, status in enumerate(endings)]
    api.routes[TASK_ROUTE] = [page(running), page(ended[:1] + running[1:]), page(ended)]
    ran = watch("--host", api.host, "--task", TASK_ID, "--exit-status", "--json")
    assert ran.code == code, ran.err
    assert clock.sleeps == [5, 5]  # not before every one has ended
    assert [o["status"] for o in objects(ran.out)][-len(endings) + 1 :] == endings[1:]


def test_without_exit_status_a_failed_execution_exits_0(api: ApiServer, watch: Watcher) -> None:
    api.routes[ROUTE] = [execution("error", text_line("Failed at 3/10: ValueError", "bad"))]
    ran = watch("--host", api.host, EXECUTION_ID)
    assert ran.code == 0, ran.err


@pytest.mark.slow
def test_a_pipeline_step_gates_on_it(api: ApiServer) -> None:
    # As a shell step runs it: a fresh interpreter, stdout a pipe.
    api.routes[ROUTE] = [execution("error", text_line("Failed at 3/10: ValueError", "bad"))]
    ran = vhtqdm(
        "watch", "--host", api.host, EXECUTION_ID, "--json", "--exit-status",
        env={"VALOHAI_TOKEN": API_TOKEN},
    )  # fmt: skip
    assert ran.code == 1, ran.err
    (data,) = objects(ran.text)
    assert (data["id"], data["status"]) == (EXECUTION_ID, "error")
    assert data["lines"] == [{"type": "text", "text": "Failed at 3/10: ValueError", "color": "bad"}]
    assert API_TOKEN not in ran.text + ran.err


@pytest.mark.slow
def test_a_reader_that_goes_away_ends_the_watch_quietly(api: ApiServer) -> None:
    # `vhtqdm watch --json | head -n 1` after head has exited.
    api.routes[ROUTE] = [execution("started", TRAINING)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "vhtqdm", "watch", "--host", api.host, EXECUTION_ID, "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=cli_env(env={"VALOHAI_TOKEN": API_TOKEN}),
    )  # fmt: skip
    assert proc.stdout is not None
    proc.stdout.close()
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 141, err
    assert err == b""
    assert len(api.seen) == 1

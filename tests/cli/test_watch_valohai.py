"""``vhtqdm watch`` with valohai-cli's login and link: counters, overrides, many executions."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from vhtqdm._compose import gauge_line, sparkline_line, text_line

from .api_server import API_TOKEN, PROJECT_ID, ApiServer, execution, execution_route, page
from .conftest import FakeClock, Watched, Watcher

TASK_ID = "0185c5e9-7777-8888-9999-0123456789ab"
PIPELINE_ID = "0185c5e9-4444-5555-6666-0123456789ab"
OTHER_PROJECT = "0185c5e9-dddd-eeee-ffff-0123456789ab"
TRAINING = "\n".join(
    [
        text_line("Training"),
        gauge_line(2.0, 4.0, "epoch 2/4 · 1.64 s/it"),
        sparkline_line([2.0, 1.0, 0.5]),
    ]
)


@dataclass
class Vh:
    """A temporary valohai-cli settings directory, logged in, with a linked project; the
    watch runs in a directory under the linked one."""

    settings: Path
    linked: Path
    watch: Watcher

    def run(self, *args: str) -> Watched:
        return self.watch(*args)


def write_settings(directory: Path, host: str, linked: Path | None) -> None:
    """valohai-cli's config.json as ``vh login`` and ``vh project link`` leave it."""
    links = {os.path.realpath(linked): {"id": PROJECT_ID, "name": "mnist"}} if linked else {}
    data = {"host": host + "/", "token": API_TOKEN, "user": {"id": "x"}, "links": links}
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(data))


@pytest.fixture
def vh(api: ApiServer, tmp_path: Path, watch: Watcher, monkeypatch: pytest.MonkeyPatch) -> Vh:
    linked = tmp_path / "project"
    inside = linked / "src" / "models"
    inside.mkdir(parents=True)
    write_settings(tmp_path / "settings", api.host, linked)
    monkeypatch.setenv("VALOHAI_CONFIG_DIR", str(tmp_path / "settings"))
    monkeypatch.chdir(inside)
    return Vh(tmp_path / "settings", linked, watch)


def counter_route(counter: str, project: str = PROJECT_ID) -> str:
    return f"/api/v0/executions/{project}:{counter}/"


@pytest.mark.parametrize(("word", "counter"), [("42", "42"), ("#42", "42"), ("latest", "latest")])
def test_a_counter_resolves_through_the_linked_project(
    api: ApiServer, vh: Vh, word: str, counter: str
) -> None:
    api.routes[counter_route(counter)] = [execution("complete", TRAINING)]
    ran = vh.run(word, "--once")
    assert ran.code == 0, ran.err
    lines = ran.out.splitlines()
    assert lines[0] == "#42 train (mnist) · complete"
    assert lines[1] == "Training"
    assert [seen.path for seen in api.seen] == [counter_route(counter)]
    assert api.seen[0].headers["Authorization"] == f"Token {API_TOKEN}"  # vh's saved token
    assert API_TOKEN not in ran.out + ran.err


def test_the_default_settings_directory_is_valohai_clis(
    api: ApiServer, watch: Watcher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    linked = tmp_path / "work"
    linked.mkdir()
    write_settings(tmp_path / ".config" / "valohai-cli", api.host, linked)
    api.routes[counter_route("7")] = [execution("started", None, counter=7)]
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", "")
    monkeypatch.setenv("VALOHAI_CONFIG_DIR", "")
    monkeypatch.chdir(linked)
    ran = watch("7", "--once")
    assert ran.code == 0, ran.err
    assert ran.out.startswith("#7 train (mnist) · started\n")


@pytest.mark.parametrize("how", ["option", "environment"])
def test_project_overrides_the_link(
    api: ApiServer, vh: Vh, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.routes[counter_route("3", OTHER_PROJECT)] = [execution("complete", None, 3)]
    if how == "option":
        ran = vh.run("3", "--once", "--project", OTHER_PROJECT)
    else:
        monkeypatch.setenv("VALOHAI_PROJECT", OTHER_PROJECT)
        ran = vh.run("3", "--once")
    assert ran.code == 0, ran.err
    assert [seen.path for seen in api.seen] == [counter_route("3", OTHER_PROJECT)]


def test_host_and_token_from_the_environment_override_the_login(
    api: ApiServer, vh: Vh, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_settings(vh.settings, "http://127.0.0.1:9", vh.linked)  # vh logged in elsewhere
    api.token = "environment-token-1234"
    api.routes[counter_route("42")] = [execution("complete", None)]
    monkeypatch.setenv("VALOHAI_HOST", api.host)
    monkeypatch.setenv("VALOHAI_TOKEN", api.token)
    ran = vh.run("42", "--once")
    assert ran.code == 0, ran.err
    assert api.seen[0].headers["Authorization"] == "Token environment-token-1234"
    assert api.token not in ran.out + ran.err


def test_vhs_token_is_never_sent_to_another_host(api: ApiServer, vh: Vh) -> None:
    write_settings(vh.settings, "https://app.valohai.com", vh.linked)
    api.routes[counter_route("42")] = [execution("complete", None)]
    ran = vh.run("42", "--once", "--host", api.host)  # loopback: a token is optional
    assert ran.code == 1
    assert "refused the API token (HTTP 401)" in ran.err
    assert "Authorization" not in api.seen[0].headers


def test_a_counter_without_a_project_is_a_usage_error(
    api: ApiServer, watch: Watcher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_settings(tmp_path / "settings", api.host, None)
    monkeypatch.setenv("VALOHAI_CONFIG_DIR", str(tmp_path / "settings"))
    monkeypatch.chdir(tmp_path)
    ran = watch("42")
    assert ran.code == 2
    assert "vh project link" in ran.err and "--project" in ran.err
    assert api.seen == []


def test_a_broken_valohai_cli_config_is_one_line(
    watch: Watcher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config.json").write_text("{broken")
    monkeypatch.setenv("VALOHAI_CONFIG_DIR", str(tmp_path))
    ran = watch("42")
    assert ran.code == 1
    assert ran.err.startswith("vhtqdm watch: valohai-cli's settings:") and "config.json" in ran.err
    assert len(ran.err.splitlines()) == 1


def test_an_unreadable_valohai_cli_config_is_one_line(
    watch: Watcher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "settings").mkdir()
    (tmp_path / "settings" / "config.json").write_text("{}")
    (tmp_path / "settings" / "config.json").chmod(0)
    monkeypatch.setenv("VALOHAI_CONFIG_DIR", str(tmp_path / "settings"))
    ran = watch("42")
    if os.access(tmp_path / "settings" / "config.json", os.R_OK):  # root reads it all the same
        pytest.skip("this user can read a file with no permissions")
    assert ran.code == 1
    assert ran.err.startswith("vhtqdm watch: valohai-cli's settings: cannot read ")
    assert len(ran.err.splitlines()) == 1


# -- many executions at once --------------------------------------------------------------------


def two_executions(first: str, second: str) -> list[dict[str, object]]:
    return [
        execution(first, TRAINING, counter=41, execution_id="e-41"),
        execution(second, text_line("Evaluating"), counter=43, execution_id="e-43", step="eval"),
    ]


def test_a_tasks_executions_are_one_row_each_across_pages(api: ApiServer, vh: Vh) -> None:
    first, second = two_executions("started", "queued")
    path = f"/api/v0/executions/?task={TASK_ID}"
    api.routes[path] = [page([first], next_url=f"{api.host}{path}&page=2")]
    api.routes[f"{path}&page=2"] = [page([second])]
    ran = vh.run("--task", TASK_ID, "--once")
    assert ran.code == 0, ran.err
    lines = ran.out.splitlines()
    assert lines[0] == f"task {TASK_ID} · 2 executions, 0 ended"
    assert lines[1].startswith("   #41  started  ")
    assert " 50%  epoch 2/4 · 1.64 s/it  █▃▁" in lines[1]
    assert lines[2].startswith("   #43  queued ") and lines[2].endswith("Evaluating")
    assert len(lines) == 3
    assert [s.path for s in api.seen] == [path, f"{path}&page=2"]
    assert API_TOKEN not in ran.out + ran.err


def test_a_next_page_on_another_host_is_not_followed(api: ApiServer, vh: Vh) -> None:
    path = f"/api/v0/executions/?task={TASK_ID}"
    api.routes[path] = [page([], next_url="http://elsewhere.example/steal/")]
    ran = vh.run("--task", TASK_ID, "--once")
    assert ran.code == 1
    assert "not followed" in ran.err
    assert len(api.seen) == 1


def test_a_projects_running_executions_until_all_have_ended(
    api: ApiServer, vh: Vh, clock: FakeClock
) -> None:
    running = two_executions("started", "started")
    ended = two_executions("complete", "error")
    path = f"/api/v0/executions/?project={PROJECT_ID}&status=started"
    api.routes[path] = [page(running), page(running[1:]), page([])]
    api.routes[execution_route("e-41")] = [ended[0]]
    api.routes[execution_route("e-43")] = [ended[1]]
    ran = vh.run("--project", PROJECT_ID, "--interval", "1")
    assert ran.code == 0, ran.err
    frames = [frame.splitlines() for frame in ran.out.split("\n\n")]
    assert [f[0] for f in frames] == [
        f"project {PROJECT_ID} · 2 executions, 0 ended",
        f"project {PROJECT_ID} · 2 executions, 1 ended",
        f"project {PROJECT_ID} · 2 executions, 2 ended",
    ]
    assert "complete" in frames[1][1] and "started" in frames[1][2]
    assert "complete" in frames[2][1] and "error" in frames[2][2]
    # List endpoints: no faster than every 5 s, whatever --interval says.
    assert clock.sleeps == [5, 5]
    # Each execution that left the list is asked for once, for how it ended.
    asked = [s.path for s in api.seen]
    assert asked.count(execution_route("e-41")) == 1
    assert asked.count(execution_route("e-43")) == 1


def test_a_project_with_nothing_running_says_so(
    api: ApiServer, vh: Vh, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = f"/api/v0/executions/?project={PROJECT_ID}&status=started"
    api.routes[path] = [page([])]
    monkeypatch.setenv("VALOHAI_PROJECT", PROJECT_ID)
    ran = vh.run()
    assert ran.code == 0, ran.err
    assert ran.out == f"no running executions in project {PROJECT_ID}\n"


def test_without_an_execution_or_a_group_is_a_usage_error(api: ApiServer, vh: Vh) -> None:
    ran = vh.run()  # a linked project is not enough: watching all of it needs --project
    assert ran.code == 2
    assert "give an EXECUTION" in ran.err
    assert api.seen == []


def pipeline(*nodes: dict[str, object], status: str = "started") -> dict[str, object]:
    return {"id": PIPELINE_ID, "counter": 21, "status": status, "nodes": list(nodes)}


def node(name: str, status: str, inner: object) -> dict[str, object]:
    return {"id": f"n-{name}", "name": name, "type": "execution", "status": status,
            "execution": inner, "pipeline": PIPELINE_ID}  # fmt: skip


def test_a_pipelines_executions_come_from_its_nodes(api: ApiServer, vh: Vh) -> None:
    first, _ = two_executions("started", "queued")
    api.routes[f"/api/v0/pipelines/{PIPELINE_ID}/"] = [
        pipeline(node("train", "started", first), node("evaluate", "created", None))
    ]
    ran = vh.run("--pipeline", PIPELINE_ID, "--once")
    assert ran.code == 0, ran.err
    lines = ran.out.splitlines()
    assert lines[0] == f"pipeline {PIPELINE_ID} · 2 executions, 0 ended"
    assert lines[1].startswith("   #41  started")
    assert lines[2].startswith("evaluate  created")


def test_a_pipeline_is_watched_until_its_last_node_has_ended(
    api: ApiServer, vh: Vh, clock: FakeClock
) -> None:
    done, later = two_executions("complete", "complete")
    api.routes[f"/api/v0/pipelines/{PIPELINE_ID}/"] = [
        pipeline(node("train", "complete", done), node("evaluate", "created", None)),
        pipeline(node("train", "complete", done), node("evaluate", "started", "e-43")),
    ]
    api.routes[execution_route("e-43")] = [later]  # a node may hold its execution's id
    ran = vh.run("--pipeline", PIPELINE_ID)
    assert ran.code == 0, ran.err
    frames = [frame.splitlines() for frame in ran.out.split("\n\n")]
    assert frames[-1][0] == f"pipeline {PIPELINE_ID} · 2 executions, 2 ended"
    assert frames[-1][2].startswith("   #43  complete")
    assert clock.sleeps == [5]


def test_a_node_that_never_ran_does_not_hold_the_watch_once_the_pipeline_ended(
    api: ApiServer, vh: Vh, clock: FakeClock
) -> None:
    failed, _ = two_executions("error", "complete")
    api.routes[f"/api/v0/pipelines/{PIPELINE_ID}/"] = [
        pipeline(node("train", "started", failed), node("evaluate", "created", None)),
        pipeline(node("train", "error", failed), node("evaluate", "created", None), status="error"),
    ]
    ran = vh.run("--pipeline", PIPELINE_ID, "--exit-status")
    assert ran.code == 1, ran.err
    frames = [frame.splitlines() for frame in ran.out.split("\n\n")]
    assert frames[0][0] == f"pipeline {PIPELINE_ID} · 2 executions, 1 ended"
    assert frames[-1][0] == f"pipeline {PIPELINE_ID} · 1 execution, 1 ended"
    assert clock.sleeps == [5]


def test_an_execution_and_a_task_together_is_a_usage_error(api: ApiServer, vh: Vh) -> None:
    ran = vh.run("42", "--task", TASK_ID)
    assert ran.code == 2
    assert "not both" in ran.err
    assert api.seen == []

"""``vhtqdm watch`` with valohai-cli's login and link: counters, overrides, many executions."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from vhtqdm._compose import gauge_line, sparkline_line, text_line

from .api_server import API_TOKEN, PROJECT_ID, ApiServer, Reply, execution, page
from .runner import Ran, vhtqdm

pytestmark = pytest.mark.slow

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
    """A temporary valohai-cli settings directory, logged in, with a linked project."""

    settings: Path
    linked: Path  # the linked directory
    inside: Path  # a directory under it, where the commands run

    def run(self, *args: str, env: dict[str, str] | None = None) -> Ran:
        environment = {"VALOHAI_CONFIG_DIR": str(self.settings), **(env or {})}
        return vhtqdm("watch", *args, env=environment, cwd=self.inside, timeout=60)


def write_settings(directory: Path, host: str, linked: Path | None) -> None:
    """valohai-cli's config.json as ``vh login`` and ``vh project link`` leave it."""
    links = {os.path.realpath(linked): {"id": PROJECT_ID, "name": "mnist"}} if linked else {}
    data = {"host": host + "/", "token": API_TOKEN, "user": {"id": "x"}, "links": links}
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(data))


@pytest.fixture
def vh(api: ApiServer, tmp_path: Path) -> Vh:
    linked = tmp_path / "project"
    inside = linked / "src" / "models"
    inside.mkdir(parents=True)
    write_settings(tmp_path / "settings", api.host, linked)
    return Vh(tmp_path / "settings", linked, inside)


def counter_route(counter: str, project: str = PROJECT_ID) -> str:
    return f"/api/v0/executions/{project}:{counter}/"


@pytest.mark.parametrize(("word", "counter"), [("42", "42"), ("#42", "42"), ("latest", "latest")])
def test_a_counter_resolves_through_the_linked_project(
    api: ApiServer, vh: Vh, word: str, counter: str
) -> None:
    api.routes[counter_route(counter)] = [Reply(execution("complete", TRAINING))]
    ran = vh.run(word, "--once")
    assert ran.code == 0, ran.err
    lines = ran.text.splitlines()
    assert lines[0] == "#42 train (mnist) · complete"
    assert lines[1] == "Training"
    assert [seen.path for seen in api.seen] == [counter_route(counter)]
    assert api.seen[0].headers["Authorization"] == f"Token {API_TOKEN}"  # vh's saved token
    assert API_TOKEN not in ran.text + ran.err


def test_the_default_settings_directory_is_valohai_clis(api: ApiServer, tmp_path: Path) -> None:
    linked = tmp_path / "work"
    linked.mkdir()
    write_settings(tmp_path / ".config" / "valohai-cli", api.host, linked)
    api.routes[counter_route("7")] = [Reply(execution("started", None, counter=7))]
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": "", "VALOHAI_CONFIG_DIR": ""}
    ran = vhtqdm("watch", "7", "--once", env=env, cwd=linked, timeout=60)
    assert ran.code == 0, ran.err
    assert ran.text.startswith("#7 train (mnist) · started")


@pytest.mark.parametrize("how", ["option", "environment"])
def test_project_overrides_the_link(api: ApiServer, vh: Vh, how: str) -> None:
    api.routes[counter_route("3", OTHER_PROJECT)] = [Reply(execution("complete", None, 3))]
    if how == "option":
        ran = vh.run("3", "--once", "--project", OTHER_PROJECT)
    else:
        ran = vh.run("3", "--once", env={"VALOHAI_PROJECT": OTHER_PROJECT})
    assert ran.code == 0, ran.err
    assert api.seen[0].path == counter_route("3", OTHER_PROJECT)


def test_host_and_token_from_the_environment_override_the_login(
    api: ApiServer, vh: Vh, tmp_path: Path
) -> None:
    write_settings(vh.settings, "http://127.0.0.1:9", vh.linked)  # vh logged in elsewhere
    api.token = "environment-token-1234"
    api.routes[counter_route("42")] = [Reply(execution("complete", None))]
    ran = vh.run("42", "--once", env={"VALOHAI_HOST": api.host, "VALOHAI_TOKEN": api.token})
    assert ran.code == 0, ran.err
    assert api.seen[0].headers["Authorization"] == "Token environment-token-1234"
    assert api.token not in ran.text + ran.err


def test_vhs_token_is_never_sent_to_another_host(api: ApiServer, vh: Vh) -> None:
    write_settings(vh.settings, "https://app.valohai.com", vh.linked)
    api.routes[counter_route("42")] = [Reply(execution("complete", None))]
    ran = vh.run("42", "--once", "--host", api.host)  # loopback: a token is optional
    assert ran.code == 1
    assert "refused the API token (HTTP 401)" in ran.err
    assert "Authorization" not in api.seen[0].headers


def test_a_counter_without_a_project_is_a_usage_error(api: ApiServer, tmp_path: Path) -> None:
    write_settings(tmp_path / "settings", api.host, None)
    env = {"VALOHAI_CONFIG_DIR": str(tmp_path / "settings")}
    ran = vhtqdm("watch", "42", env=env, cwd=tmp_path, timeout=60)
    assert ran.code == 2
    assert "vh project link" in ran.err and "--project" in ran.err
    assert api.seen == []


def test_a_broken_valohai_cli_config_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{broken")
    ran = vhtqdm("watch", "42", env={"VALOHAI_CONFIG_DIR": str(tmp_path)}, timeout=60)
    assert ran.code == 1
    assert ran.err.startswith("vhtqdm watch: valohai-cli's settings:") and "config.json" in ran.err
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
    api.routes[path] = [Reply(page([first], next_url=f"{api.host}{path}&page=2"))]
    api.routes[f"{path}&page=2"] = [Reply(page([second]))]
    ran = vh.run("--task", TASK_ID, "--once")
    assert ran.code == 0, ran.err
    lines = ran.text.splitlines()
    assert lines[0] == f"task {TASK_ID} · 2 executions, 0 ended"
    assert lines[1].startswith("   #41  started  ")
    assert " 50%  epoch 2/4 · 1.64 s/it  █▃▁" in lines[1]
    assert lines[2].startswith("   #43  queued ") and lines[2].endswith("Evaluating")
    assert [s.path for s in api.seen] == [path, f"{path}&page=2"]
    assert API_TOKEN not in ran.text + ran.err


def test_a_next_page_on_another_host_is_not_followed(api: ApiServer, vh: Vh) -> None:
    path = f"/api/v0/executions/?task={TASK_ID}"
    api.routes[path] = [Reply(page([], next_url="http://elsewhere.example/steal/"))]
    ran = vh.run("--task", TASK_ID, "--once")
    assert ran.code == 1
    assert "not followed" in ran.err
    assert len(api.seen) == 1


def test_a_projects_running_executions_until_all_have_ended(api: ApiServer, vh: Vh) -> None:
    running = two_executions("started", "started")
    path = f"/api/v0/executions/?project={PROJECT_ID}&status=started"
    api.routes[path] = [Reply(page(running)), Reply(page([]))]
    api.routes["/api/v0/executions/e-41/"] = [Reply(two_executions("complete", "error")[0])]
    api.routes["/api/v0/executions/e-43/"] = [Reply(two_executions("complete", "error")[1])]
    started = time.monotonic()
    ran = vh.run("--project", PROJECT_ID, "--interval", "1")
    elapsed = time.monotonic() - started
    assert ran.code == 0, ran.err
    frames = ran.text.split("\n\n")
    assert [f.splitlines()[0] for f in frames] == [
        f"project {PROJECT_ID} · 2 executions, 0 ended",
        f"project {PROJECT_ID} · 2 executions, 2 ended",
    ]
    assert "complete" in frames[1].splitlines()[1] and "error" in frames[1].splitlines()[2]
    assert elapsed >= 5  # list endpoints: no faster than every 5 s, whatever --interval says
    assert [s.path for s in api.seen].count(path) == 2


def test_a_project_with_nothing_running_says_so(api: ApiServer, vh: Vh) -> None:
    path = f"/api/v0/executions/?project={PROJECT_ID}&status=started"
    api.routes[path] = [Reply(page([]))]
    ran = vh.run(env={"VALOHAI_PROJECT": PROJECT_ID})
    assert ran.code == 0, ran.err
    assert ran.text == f"no running executions in project {PROJECT_ID}\n"


def test_a_pipelines_executions_come_from_its_nodes(api: ApiServer, vh: Vh) -> None:
    first, _ = two_executions("started", "queued")
    nodes = [
        {"id": "n-1", "name": "train", "type": "execution", "status": "started",
         "execution": first, "pipeline": PIPELINE_ID},
        {"id": "n-2", "name": "evaluate", "type": "execution", "status": "created",
         "execution": None, "pipeline": PIPELINE_ID},
    ]  # fmt: skip
    pipeline = {"id": PIPELINE_ID, "counter": 21, "status": "started", "nodes": nodes}
    api.routes[f"/api/v0/pipelines/{PIPELINE_ID}/"] = [Reply(pipeline)]
    ran = vh.run("--pipeline", PIPELINE_ID, "--once")
    assert ran.code == 0, ran.err
    lines = ran.text.splitlines()
    assert lines[0] == f"pipeline {PIPELINE_ID} · 2 executions, 0 ended"
    assert lines[1].startswith("   #41  started")
    assert lines[2].startswith("evaluate  created")


def test_an_execution_and_a_task_together_is_a_usage_error(vh: Vh) -> None:
    ran = vh.run("42", "--task", TASK_ID)
    assert ran.code == 2
    assert "not both" in ran.err

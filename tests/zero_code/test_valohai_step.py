"""``examples/valohai.yaml``'s zero-code step: valid for Valohai's parser, and its unmodified
script's bars reach the status when it runs as the step runs it."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest
from valohai_yaml import parse, validate

from ..helpers import ROOT, run_command
from ..server import StatusServer
from . import labels

YAML = ROOT / "examples" / "valohai.yaml"


def step_command() -> tuple[list[str], dict[str, str]]:
    """The step's command after its install line, and its environment variables' defaults."""
    with YAML.open() as file:
        assert validate(file, raise_exc=False) == []
    step = parse(YAML.read_text()).steps["train-unmodified"]
    install, *commands = step.build_command({})
    assert install.startswith("pip install") and len(commands) == 1
    env = {name: str(v.default) for name, v in step.environment_variables.items()}
    return shlex.split(commands[0]), env


def test_the_step_runs_an_unmodified_script_with_vhtqdm_auto() -> None:
    command, env = step_command()
    assert env == {"VHTQDM_AUTO": "1"}
    assert command == ["python", "examples/plain_tqdm.py"]
    assert "vhtqdm" not in (ROOT / command[1]).read_text().split('"""')[2]  # its code, not its doc


@pytest.mark.slow
def test_the_steps_bars_reach_the_status(server: StatusServer, config_dir: Path) -> None:
    command, env = step_command()
    # Statuses twice a second: at the default 5 s, whether one lands mid-run (the job gauge)
    # depends on how loaded the machine is (a CI run met a job that had none).
    env = {**env, "VHTQDM_STATUS_INTERVAL": "0.5"}
    run = run_command([sys.executable, *command[1:]], config_dir, timeout=90, env=env)
    assert run.code == 0, run.err
    assert run.out.startswith("final loss ")
    assert server.last is not None
    assert [t for t in server.last.texts() if t.startswith("load 300/300")], server.last.status
    assert labels(server.last)[0].startswith("epoch 3/3")
    assert any(t.startswith("loss ") for t in server.last.texts())
    assert any(label.startswith("job ") for post in server.posts for label in labels(post))

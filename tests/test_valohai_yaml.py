"""`examples/valohai.yaml`: valid for Valohai's own parser, and its shell step really reports."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from valohai_yaml import parse, validate
from valohai_yaml.lint import lint_file

from .helpers import ROOT, run_command
from .server import StatusServer

YAML = ROOT / "examples" / "valohai.yaml"


def test_valohai_yaml_validates_and_lints_without_an_error_or_a_warning() -> None:
    with YAML.open() as file:
        assert validate(file, raise_exc=False) == []
    result = lint_file(str(YAML))
    assert [m["message"] for m in result.messages if m["type"] != "hint"] == []


def test_the_train_step_installs_vhtqdm_and_runs_the_example_job() -> None:
    steps = parse(YAML.read_text()).steps
    assert sorted(steps) == ["prepare-data", "train", "train-unmodified"]
    train = steps["train"].build_command({})
    assert train[0].startswith("pip install")
    assert train[-1] == "python examples/train.py"
    assert (ROOT / "examples" / "train.py").is_file()
    variables = steps["train"].environment_variables
    assert variables and all(name.startswith("VHTQDM_") for name in variables)


def test_the_shell_step_uses_vhtqdm_status() -> None:
    commands = parse(YAML.read_text()).steps["prepare-data"].build_command({})
    assert commands[0].startswith("pip install")
    assert [c for c in commands if c.startswith("vhtqdm status ")]


@pytest.mark.slow
def test_the_shell_steps_commands_post_their_status(
    server: StatusServer, config_dir: Path, tmp_path: Path
) -> None:
    commands = parse(YAML.read_text()).steps["prepare-data"].build_command({})
    script = " && ".join(c for c in commands if not c.startswith("pip install"))  # installed
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = {"PATH": path, "VH_OUTPUTS_DIR": str(outputs)}
    run = run_command(["bash", "-c", script], config_dir, timeout=60, env=env)
    assert run.code == 0, run.err
    assert (outputs / "rows.txt").read_text().split() == [str(i) for i in range(1, 5001)]
    statuses = [post.elements for post in server.posts]
    text = {"type": "text", "text": "Preparing the data set"}
    shards = [
        [text, {"type": "gauge", "value": shard, "min": 0, "max": 3, "label": f"shard {shard}/3"}]
        for shard in (1, 2, 3)
    ]
    assert statuses[:4] == [[text], *shards]  # each `vhtqdm status` replaces the status
    rows = [s[0] for s in statuses[4:-1]]  # pipe mode's bar, mirrored like any vhtqdm bar
    assert rows and all(e["type"] == "gauge" and e["label"].startswith("rows ") for e in rows)
    assert (rows[-1]["value"], rows[-1]["max"], rows[-1].get("color")) == (5000, 5000, "good")
    assert statuses[-1] == [{"type": "text", "text": "Data set ready", "color": "good"}]

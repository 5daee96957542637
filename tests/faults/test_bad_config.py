"""A broken api.json turns mirroring off with one clear warning; the job runs as plain tqdm."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

import pytest

from ..helpers import run_script
from ..server import TOKEN

pytestmark = pytest.mark.slow

JOB = """
from vhtqdm import tqdm
for epoch in range(3):
    for i in tqdm(range(5), desc="train", bar_format="{desc} {n}/{total}"):
        pass
print("done")
"""

ENTRY = {"url": "http://127.0.0.1:9/x", "headers": {"Authorization": f"Token {TOKEN}"}}
BROKEN: dict[str, object] = {
    "not JSON": "{oops",
    "not an object": [ENTRY],
    "entry missing": {"get_outputs": ENTRY},
    "entry not a dict": {"set_status_detail": "http://127.0.0.1:9/x"},
    "url missing": {"set_status_detail": {"headers": ENTRY["headers"]}},
    "url not a string": {"set_status_detail": {**ENTRY, "url": ["http://127.0.0.1:9/x"]}},
    "headers not a dict": {"set_status_detail": {**ENTRY, "headers": [f"Token {TOKEN}"]}},
    "not UTF-8": b"\xff\xfe{",
}


def write(config: Path, content: object) -> None:
    config.mkdir()
    data = content if isinstance(content, (str, bytes)) else json.dumps(content)
    (config / "api.json").write_bytes(data.encode() if isinstance(data, str) else data)


@pytest.mark.parametrize("content", BROKEN.values(), ids=list(BROKEN))
def test_a_broken_config_warns_once(content: object, tmp_path: Path) -> None:
    write(tmp_path / "config", content)
    run = run_script(JOB, tmp_path / "config")
    baseline = run_script(JOB, None)
    assert (run.code, run.out) == (baseline.code, baseline.out) == (0, "done\n")
    warnings = [line for line in run.err.splitlines() if line.startswith("vhtqdm:")]
    assert len(warnings) == 1, run.err
    assert "status mirroring is off" in warnings[0] and str(tmp_path) in warnings[0]
    assert [line for line in run.err.splitlines() if not line.startswith("vhtqdm:")] == (
        baseline.err.splitlines()
    )  # the bars are exactly tqdm's
    assert TOKEN not in run.err


def test_an_unreadable_config_path_warns_once(tmp_path: Path) -> None:
    # It exists but cannot be read as a file (a chmod 000 file would not do: CI runs as root).
    (tmp_path / "config" / "api.json").mkdir(parents=True)
    run = run_script(JOB, tmp_path / "config")
    assert run.code == 0 and run.out == "done\n"
    assert run.err.count("vhtqdm:") == 1 and "cannot read" in run.err


def test_a_missing_config_is_silent(tmp_path: Path) -> None:
    run = run_script(JOB, tmp_path / "no-such-dir")
    assert run.code == 0 and "vhtqdm" not in run.err


def test_bad_environment_values_warn_once_each_and_use_defaults(tmp_path: Path) -> None:
    write(tmp_path / "config", {"set_status_detail": ENTRY})
    run = run_script(
        JOB,
        tmp_path / "config",
        env={"VHTQDM_STATUS_INTERVAL": "soon", "VHTQDM_FLUSH_TIMEOUT": "0"},
    )
    assert run.code == 0 and run.out == "done\n"
    warnings = [line for line in run.err.splitlines() if line.startswith("vhtqdm:")]
    assert any("VHTQDM_STATUS_INTERVAL='soon'" in w for w in warnings), warnings
    assert len([w for w in warnings if "STATUS_INTERVAL" in w]) == 1


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _device(path: Path) -> None:
    path.symlink_to("/dev/zero")  # endless: a plain read() would fill memory for ever


NOT_A_FILE = {"a FIFO": _fifo, "a device": _device}


@pytest.mark.parametrize("make", NOT_A_FILE.values(), ids=list(NOT_A_FILE))
def test_a_config_that_is_not_a_regular_file_never_blocks(
    make: Callable[[Path], None], tmp_path: Path
) -> None:
    config = tmp_path / "config"
    config.mkdir()
    make(config / "api.json")
    run = run_script(JOB, config, timeout=20)  # the previous code hung in open() for ever
    assert run.code == 0 and run.out == "done\n"
    warnings = [line for line in run.err.splitlines() if line.startswith("vhtqdm:")]
    assert len(warnings) == 1, run.err
    assert "not a regular file" in warnings[0] and "status mirroring is off" in warnings[0]


def test_a_config_over_the_size_cap_warns_once(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    entry = json.dumps({"set_status_detail": ENTRY})
    (config / "api.json").write_text(entry + " " * (2 << 20))  # valid JSON, but 2 MiB
    run = run_script(JOB, config)
    assert run.code == 0 and run.out == "done\n"
    warnings = [line for line in run.err.splitlines() if line.startswith("vhtqdm:")]
    assert len(warnings) == 1, run.err
    assert "larger than 1 MiB" in warnings[0]


@pytest.mark.parametrize("value", ["1", "1000"])
def test_a_sparkline_window_out_of_range_warns_once(value: str, tmp_path: Path) -> None:
    # 1000 was clamped to 200 in silence by the previous code; 1 already warned.
    write(tmp_path / "config", {"set_status_detail": ENTRY})
    run = run_script(JOB, tmp_path / "config", env={"VHTQDM_SPARKLINE_WINDOW": value})
    assert run.code == 0 and run.out == "done\n"
    warnings = [w for w in run.err.splitlines() if "VHTQDM_SPARKLINE_WINDOW" in w]
    assert len(warnings) == 1, run.err
    assert f"VHTQDM_SPARKLINE_WINDOW='{value}'" in warnings[0]


@pytest.mark.parametrize("words", [("none", "1"), ("off", "yes")])
def test_every_setting_reads_the_same_true_and_false_words(
    words: tuple[str, str], tmp_path: Path
) -> None:
    # The previous code took "none" as false for VHTQDM_DISABLE's neighbours but warned about
    # it for VHTQDM_METADATA.
    off, on = words
    write(tmp_path / "config", {"set_status_detail": ENTRY})
    env = {"VHTQDM_METADATA": off, "VHTQDM_SPARKLINES": on, "VHTQDM_DISABLE": off}
    run = run_script(JOB, tmp_path / "config", env=env)
    assert run.code == 0 and run.out == "done\n"
    assert not [w for w in run.err.splitlines() if "METADATA" in w or "SPARKLINES" in w], run.err

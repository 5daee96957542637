"""The command line itself: typos, usage errors and bad values end with one line and exit 2."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from ..server import StatusServer
from .runner import cli_env, vhtqdm

pytestmark = pytest.mark.slow


def one_line(err: str) -> str:
    """The single line of ``err`` (no traceback, no banner)."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_a_mistyped_subcommand_is_an_error_that_suggests_the_right_one() -> None:
    ran = vhtqdm("stauts", "Downloading", stdin=b"")
    assert ran.code == 2
    assert one_line(ran.err) == "vhtqdm: unknown command 'stauts'; did you mean 'status'?"
    assert ran.out == b""


def test_a_mistyped_subcommand_on_a_terminal_does_not_wait_for_input() -> None:
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "vhtqdm", "wtach", "42"],
            stdin=follower, capture_output=True, timeout=30, env=cli_env(), check=False,
        )  # fmt: skip
    finally:
        os.close(follower)
        os.close(leader)
    assert proc.returncode == 2
    assert b"unknown command 'wtach'; did you mean 'watch'?" in proc.stderr


def test_an_unknown_word_with_no_close_match_lists_the_commands() -> None:
    ran = vhtqdm("xyzzy")
    assert ran.code == 2
    line = one_line(ran.err)
    assert line.startswith("vhtqdm: unknown command 'xyzzy'")
    assert "status, watch, preview" in line


def test_option_values_are_not_commands_in_pipe_mode(
    server: StatusServer, config_dir: Path
) -> None:
    ran = vhtqdm("--desc", "images", "--total", "2", config_dir=config_dir, stdin=b"a\nb\n")
    assert ran.code == 0, ran.err
    assert ran.out == b"a\nb\n"
    assert "images" in ran.err


def test_a_bad_pipe_option_prints_one_line_without_tqdms_banner() -> None:
    ran = vhtqdm("--no-such-option", "1", stdin=b"kept\n")
    assert ran.code == 2
    assert ran.out == b"kept\n"  # tqdm passes the stream through, as before
    line = one_line(ran.err)
    assert line.startswith("vhtqdm: bad option") and "Usage" not in ran.err


def test_a_subcommands_usage_error_shows_that_subcommands_usage() -> None:
    ran = vhtqdm("watch", "42", "--bogus")
    assert ran.code == 2
    assert ran.err.startswith("usage: vhtqdm watch"), ran.err
    assert "vhtqdm watch: error: unrecognized arguments: --bogus" in ran.err
    assert "TQDM OPTIONS" not in ran.err


@pytest.mark.parametrize("port", ["99999", "-1", "65536"])
def test_a_port_out_of_range_is_one_line(port: str) -> None:
    ran = vhtqdm("preview", "--port", port, "--", sys.executable, "-c", "pass")
    assert ran.code == 2
    assert "Traceback" not in ran.err
    assert "0" in one_line(ran.err) and "65535" in ran.err


def test_open_says_so_when_no_browser_can_open(tmp_path: Path) -> None:
    # No browser on PATH and no display: webbrowser finds nothing to run.
    env = {"PATH": str(tmp_path), "DISPLAY": "", "WAYLAND_DISPLAY": "", "BROWSER": ""}
    ran = vhtqdm("preview", "--port", "0", "--open", "--", sys.executable, "-c", "pass", env=env)
    assert ran.code == 0, ran.err
    assert "no web browser could open" in ran.err

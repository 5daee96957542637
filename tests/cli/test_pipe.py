"""Pipe mode: tqdm's command line, option for option, byte-exact, mirrored into the status."""

from __future__ import annotations

import contextlib
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from ..server import TOKEN, StatusServer
from .runner import cli_env, vhtqdm

pytestmark = pytest.mark.slow

# Lines with every awkward byte: CRLF, NUL, invalid UTF-8, a lone CR, and no final newline.
AWKWARD = b"alpha\r\nbeta\x00gamma\n\xff\xfe not utf-8\n\rcarriage\n\nlast line without newline"


def final(server: StatusServer) -> dict[str, object]:
    """The one gauge or text element of the last status."""
    assert server.last is not None, "nothing was posted"
    (element,) = server.last.elements
    return element


def test_lines_pass_through_byte_for_byte_and_the_bar_is_mirrored(
    server: StatusServer, config_dir: Path
) -> None:
    lines = AWKWARD.count(b"\n") + 1
    ran = vhtqdm("--total", str(lines), "--desc", "lines", config_dir=config_dir, stdin=AWKWARD)
    assert ran.code == 0, ran.err
    assert ran.out == AWKWARD
    assert f"{lines}/{lines}" in ran.err  # tqdm's own bar, on stderr
    gauge = final(server)
    assert gauge["type"] == "gauge"
    assert (gauge["value"], gauge["max"], gauge["color"]) == (lines, lines, "good")
    assert str(gauge["label"]).startswith(f"lines {lines}/{lines}")
    assert TOKEN not in ran.err


def test_bytes_counts_bytes_in_binary_units(server: StatusServer, config_dir: Path) -> None:
    payload = random.Random(6).randbytes(300_000)
    ran = vhtqdm("--bytes", "--total", str(len(payload)), config_dir=config_dir, stdin=payload)
    assert ran.code == 0, ran.err
    assert ran.out == payload
    gauge = final(server)
    assert (gauge["value"], gauge["max"]) == (len(payload), len(payload))
    label = str(gauge["label"])
    assert label.startswith("293k/293k") and "B/s" in label  # unit B, scaled by 1024: tqdm's


def test_a_custom_delimiter_counts_records(server: StatusServer, config_dir: Path) -> None:
    records = b"one\x00two\x00three\x00"
    ran = vhtqdm("--delim", "\\0", "--desc", "records", config_dir=config_dir, stdin=records)
    assert ran.code == 0, ran.err
    assert ran.out == records
    assert str(final(server)["text"]).startswith("records 3it")  # no total: a text line


def test_null_discards_the_stream_but_still_counts(server: StatusServer, config_dir: Path) -> None:
    ran = vhtqdm("--null", "--total", "4", config_dir=config_dir, stdin=b"a\nb\nc\nd\n")
    assert ran.code == 0, ran.err
    assert ran.out == b""
    assert (final(server)["value"], final(server)["max"]) == (4, 4)


def test_tee_copies_the_stream_to_stderr_too(server: StatusServer, config_dir: Path) -> None:
    ran = vhtqdm("--tee", config_dir=config_dir, stdin=b"first\nsecond\n")
    assert ran.code == 0, ran.err
    assert ran.out == b"first\nsecond\n"
    assert "first" in ran.err and "second" in ran.err


def test_update_treats_input_as_increments(server: StatusServer, config_dir: Path) -> None:
    ran = vhtqdm("--update", "--total", "60", config_dir=config_dir, stdin=b"10\n20\n30\n")
    assert ran.code == 0, ran.err
    assert ran.out == b"10\n20\n30\n"
    assert (final(server)["value"], final(server)["max"]) == (60, 60)


def test_off_valohai_it_is_tqdms_cli_and_posts_nothing(server: StatusServer) -> None:
    ran = vhtqdm("--total", "6", stdin=AWKWARD)
    assert ran.code == 0, ran.err
    assert ran.out == AWKWARD
    assert "6/6" in ran.err
    assert server.attempts == 0


def test_a_bad_option_says_so_and_loses_no_input(server: StatusServer, config_dir: Path) -> None:
    ran = vhtqdm("--no-such-option", "1", config_dir=config_dir, stdin=b"kept\nintact\n")
    assert ran.code == 2
    assert ran.out == b"kept\nintact\n"
    assert "bad option" in ran.err and "no_such_option" in ran.err
    assert "Traceback" not in ran.err


def test_a_closed_reader_ends_quietly(config_dir: Path) -> None:
    # `vhtqdm | head -1`: the reader goes away; no traceback, the exit code of a broken pipe.
    proc = subprocess.Popen(
        [sys.executable, "-m", "vhtqdm"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(config_dir),
    )
    assert proc.stdout is not None and proc.stdin is not None
    proc.stdout.close()
    with contextlib.suppress(BrokenPipeError):  # vhtqdm stops reading once its reader is gone
        proc.stdin.write(b"line\n" * 200_000)
    with contextlib.suppress(BrokenPipeError):
        proc.stdin.close()
    assert proc.wait(timeout=30) == 141
    assert proc.stderr is not None
    assert b"Traceback" not in proc.stderr.read()


def test_ctrl_c_stops_quietly_and_the_status_says_interrupted(
    server: StatusServer, config_dir: Path
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "vhtqdm", "--total", "1000", "--desc", "copy"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=cli_env(config_dir),
    )
    assert proc.stdin is not None
    proc.stdin.write(b"one\ntwo\n")
    proc.stdin.flush()
    assert server.wait_for(lambda posts: len(posts) >= 1, timeout=20)
    proc.send_signal(2)  # SIGINT, as Ctrl-C
    _, err = proc.communicate(timeout=30)
    assert proc.returncode in (-2, 130)  # killed by SIGINT, as a shell expects of Ctrl-C
    assert b"Traceback" not in err
    texts = server.last.texts() if server.last else []
    assert any(t.startswith("Interrupted at copy 2/1000") for t in texts), texts


def test_version_names_vhtqdm_and_tqdm() -> None:
    ran = vhtqdm("--version")
    assert ran.code == 0
    assert ran.text.startswith("vhtqdm 0.") and "(tqdm 4." in ran.text


def test_help_documents_every_mode_and_tqdms_options() -> None:
    ran = vhtqdm("--help")
    assert ran.code == 0
    for mode in ("vhtqdm [TQDM OPTIONS]", "vhtqdm status", "vhtqdm watch", "vhtqdm preview"):
        assert mode in ran.text
    for option in ("--total=<total>", "--bytes", "--delim=<delim>", "--tee", "--update", "--null"):
        assert option in ran.text


def test_the_console_script_is_installed() -> None:
    script = Path(sys.executable).with_name("vhtqdm" + (".exe" if os.name == "nt" else ""))
    proc = subprocess.run(
        [str(script), "status", "--help"], capture_output=True, timeout=30, check=False
    )
    assert proc.returncode == 0
    assert b"--sparkline" in proc.stdout

"""Running snippets in a fresh interpreter, as a Valohai job would run them."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Run:
    code: int
    out: str
    err: str
    seconds: float


def job_env(config_dir: Path | None, env: dict[str, str] | None = None) -> dict[str, str]:
    """A job's environment: ours without vhtqdm/Valohai/tqdm variables, a config dir, ``env``."""
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("VHTQDM_", "VH_", "TQDM_", "VALOHAI_"))
    }
    environment["VH_CONFIG_DIR"] = str(config_dir) if config_dir else "/nonexistent/vhtqdm"
    environment["NO_PROXY"] = "127.0.0.1,localhost"
    environment.update(env or {})
    return environment


def run_command(
    command: list[str],
    config_dir: Path | None,
    timeout: float = 30.0,
    env: dict[str, str] | None = None,
    raw: bool = False,
) -> Run:
    """Run ``command`` as a job (``job_env``); ``raw`` keeps carriage returns, which text mode
    would turn into newlines."""
    started = time.monotonic()
    proc = subprocess.run(
        command,
        check=False,
        capture_output=True,
        timeout=timeout,
        env=job_env(config_dir, env),
        cwd=str(ROOT),
    )
    out, err = (
        (proc.stdout.decode(), proc.stderr.decode())
        if raw
        else (_text(proc.stdout), _text(proc.stderr))
    )
    return Run(proc.returncode, out, err, time.monotonic() - started)


def run_script(
    source: str,
    config_dir: Path | None,
    timeout: float = 30.0,
    env: dict[str, str] | None = None,
    as_file: Path | None = None,
    raw: bool = False,
) -> Run:
    """Run ``source`` in a fresh interpreter (with a Valohai config dir when given).

    ``as_file``: write the source to that path and run it as a script (``python path``), which
    multiprocessing's spawn needs to re-import the main module.
    """
    command = [sys.executable, "-c", textwrap.dedent(source)]
    if as_file is not None:
        as_file.write_text(textwrap.dedent(source))
        command = [sys.executable, str(as_file)]
    return run_command(command, config_dir, timeout, env, raw)


def _text(output: bytes) -> str:
    """Decoded as ``subprocess.run(text=True)`` would: universal newlines."""
    return output.decode().replace("\r\n", "\n").replace("\r", "\n")

"""Running the ``vhtqdm`` command in a fresh interpreter, as a shell step would run it."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ..helpers import ROOT, job_env


@dataclass
class Ran:
    code: int
    out: bytes
    err: str
    seconds: float

    @property
    def text(self) -> str:
        return self.out.decode("utf-8", "replace")


def cli_env(config_dir: Path | None = None, env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a job (``job_env``), unbuffered so its lines arrive as written, with
    no valohai-cli login (unless ``env`` gives a ``VALOHAI_CONFIG_DIR``)."""
    quiet = {"PYTHONUNBUFFERED": "1", "VALOHAI_CONFIG_DIR": "/nonexistent/valohai-cli"}
    return job_env(config_dir, {**quiet, **(env or {})})


def vhtqdm(
    *args: str,
    config_dir: Path | None = None,
    stdin: bytes = b"",
    env: dict[str, str] | None = None,
    timeout: float = 30.0,
    cwd: Path | None = None,
) -> Ran:
    """``python -m vhtqdm ARGS`` with ``stdin``; stdout as bytes (pipe mode is byte-exact)."""
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "vhtqdm", *args],
        check=False,
        input=stdin,
        capture_output=True,
        timeout=timeout,
        env=cli_env(config_dir, env),
        cwd=str(cwd or ROOT),
    )
    err = proc.stderr.decode("utf-8", "replace")
    return Ran(proc.returncode, proc.stdout, err, time.monotonic() - started)

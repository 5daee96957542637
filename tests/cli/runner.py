"""Running the ``vhtqdm`` command in a fresh interpreter, as a shell step would run it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ..helpers import ROOT


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
    """The environment of a job: ours without vhtqdm/Valohai/tqdm variables, plus ``env``."""
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("VHTQDM_", "VH_", "TQDM_", "VALOHAI_"))
    }
    environment["VH_CONFIG_DIR"] = str(config_dir) if config_dir else "/nonexistent/vhtqdm"
    environment["NO_PROXY"] = "127.0.0.1,localhost"
    environment["PYTHONUNBUFFERED"] = "1"
    environment.update(env or {})
    return environment


def vhtqdm(
    *args: str,
    config_dir: Path | None = None,
    stdin: bytes = b"",
    env: dict[str, str] | None = None,
    timeout: float = 30.0,
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
        cwd=str(ROOT),
    )
    err = proc.stderr.decode("utf-8", "replace")
    return Ran(proc.returncode, proc.stdout, err, time.monotonic() - started)

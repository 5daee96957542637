"""Integration tests with the real frameworks (``nox -s integrations`` installs them).

In the core sessions the frameworks are absent and these tests skip; with
``VHTQDM_TEST_INTEGRATIONS=1`` (set by ``nox -s integrations``) a missing framework is an error,
so the integration run can never pass by skipping.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

from ..helpers import ROOT, Run

REQUIRED = os.environ.get("VHTQDM_TEST_INTEGRATIONS") == "1"  # read at import, before fixtures


def require(name: str) -> ModuleType:
    """Import a framework: skip without it in the core sessions, fail in ``integrations``."""
    if REQUIRED:
        return importlib.import_module(name)
    return pytest.importorskip(name, reason=f"{name} is not installed (`nox -s integrations`)")


def run_file(
    path: Path,
    config_dir: Path | None,
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> Run:
    """Run ``python path *args`` (spawned workers re-import the file) with a Valohai config."""
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("VHTQDM_", "VH_", "TQDM_"))
    }
    environment.update(
        VH_CONFIG_DIR=str(config_dir) if config_dir else "/nonexistent/vhtqdm",
        NO_PROXY="127.0.0.1,localhost",
        VHTQDM_STATUS_INTERVAL="0.5",
        KERAS_BACKEND="torch",
    )
    environment.update(env or {})
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(path), *args],
        check=False,
        capture_output=True,
        timeout=timeout,
        env=environment,
        cwd=str(ROOT),
    )
    return Run(
        proc.returncode, proc.stdout.decode(), proc.stderr.decode(), time.monotonic() - started
    )

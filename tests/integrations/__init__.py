"""Integration tests with the real frameworks (``nox -s integrations`` installs them).

In the core sessions the frameworks are absent and these tests skip; with
``VHTQDM_TEST_INTEGRATIONS=1`` (set by ``nox -s integrations``) a missing framework is an error,
so the integration run can never pass by skipping.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

from ..helpers import Run, run_command

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
    settings = {"VHTQDM_STATUS_INTERVAL": "0.5", "KERAS_BACKEND": "torch", **(env or {})}
    return run_command([sys.executable, str(path), *args], config_dir, timeout, settings, raw=True)

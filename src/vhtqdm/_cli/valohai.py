"""valohai-cli's saved login and directory links, read as ``vh`` itself reads them.

``vh login`` saves ``{"host": …, "token": …}`` in ``config.json`` in its settings directory
(``VALOHAI_CONFIG_DIR``, else the platform's: ``$XDG_CONFIG_HOME/valohai-cli`` or
``~/.config/valohai-cli`` on Linux, as ``valohai_cli.settings.paths`` computes it); ``vh project
link`` adds ``"links": {directory: project}``, found by walking up from the working directory.
Read only: vhtqdm never writes valohai-cli's settings.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_CONFIG = 4 << 20  # bytes: a config.json larger than this is not valohai-cli's


class LoginError(Exception):
    """valohai-cli's settings cannot be read (the message says which file and why)."""


@dataclass(frozen=True)
class Login:
    """What valohai-cli knows: the host logged in to, its token, and the linked project."""

    host: str | None = None
    token: str | None = None
    project: str | None = None  # the linked project's id


def settings_dir(environ: Mapping[str, str]) -> Path:
    """valohai-cli's settings directory (``get_settings_file_name("")`` in valohai-cli)."""
    override = environ.get("VALOHAI_CONFIG_DIR")
    if override:
        return Path(override)
    if sys.platform == "win32":
        root = Path(environ.get("LOCALAPPDATA", "~")).expanduser()
    elif sys.platform == "darwin":
        root = Path("~/Library/Application Support").expanduser()
    else:
        root = Path(environ.get("XDG_CONFIG_HOME") or Path("~/.config").expanduser())
    return root / "valohai-cli"


def _parents(directory: Path) -> Iterator[str]:
    """``directory`` (resolved) and each of its parents up to the root, as valohai-cli walks."""
    current = os.path.realpath(directory)
    while True:
        yield current
        parent = os.path.dirname(current)
        if parent == current:
            return
        current = parent


def _text(value: object) -> str | None:
    """A non-empty string setting, else None."""
    return (value.strip() or None) if isinstance(value, str) else None


def read_login(environ: Mapping[str, str], cwd: Path) -> Login:
    """valohai-cli's login and the project linked to ``cwd`` (or a parent); empty when none."""
    path = settings_dir(environ) / "config.json"
    try:
        if not path.is_file():
            return Login()
        with path.open("rb") as fh:
            raw = fh.read(MAX_CONFIG + 1)
    except OSError as exc:
        raise LoginError(f"cannot read {path} ({exc.strerror or exc})") from None
    try:
        data: Any = json.loads(raw) if len(raw) <= MAX_CONFIG else None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise LoginError(f"{path} is not valohai-cli's settings (not a JSON object)")
    links = data.get("links")
    project: dict[str, Any] = {}
    if isinstance(links, dict):
        found = (links.get(d) for d in _parents(cwd))
        project = next((p for p in found if isinstance(p, dict)), {})
    return Login(
        host=_text(data.get("host")),
        token=_text(data.get("token")),
        project=_text(project.get("id")),
    )

"""Zero-code mode: ``VHTQDM_AUTO=1`` and ``vhtqdm run`` mirror bars nobody made with vhtqdm.

Every test runs real jobs in fresh interpreters, started as Python starts any process (site
processing included, so vhtqdm's installed ``.pth`` runs), against the recording server.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

from ..helpers import Run, run_command
from ..server import Post

#: Zero-code mode on, statuses twice a second (the tests' jobs last about a second).
AUTO = {"VHTQDM_AUTO": "1", "VHTQDM_STATUS_INTERVAL": "0.5"}


def vhtqdm_run(
    command: list[str],
    config_dir: Path | None,
    env: dict[str, str] | None = None,
    timeout: float = 60,
    raw: bool = False,
) -> Run:
    """``vhtqdm run -- COMMAND`` as a job (no ``VHTQDM_AUTO`` of its own)."""
    settings = {"VHTQDM_STATUS_INTERVAL": "0.5", **(env or {})}
    return run_command(
        [sys.executable, "-m", "vhtqdm", "run", "--", *command], config_dir, timeout, settings, raw
    )


def script(path: Path, source: str) -> Path:
    """``source`` written to ``path``, dedented; returns the path."""
    path.write_text(textwrap.dedent(source))
    return path


def labels(post: Post) -> list[str]:
    """The labels of a post's gauges."""
    return [str(g["label"]) for g in post.of_type("gauge")]

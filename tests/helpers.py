"""The suite's shared helpers: the environment tests and jobs run in, running snippets in a fresh
interpreter as a Valohai job would run them, quiet bars, and reading the statuses received."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import Post, StatusServer

ROOT = Path(__file__).resolve().parent.parent

# -- the environment ------------------------------------------------------------------------------

# What the shell that started the suite may have set and no test may inherit: vhtqdm's, Valohai's
# and tqdm's settings, and every variable by which a launcher (torchrun, accelerate, deepspeed,
# SLURM, Open MPI, MPICH, Intel MPI, MVAPICH, LSF, Horovod, Lightning) tells a process its rank:
# run inside torchrun or a SLURM job, the suite would otherwise behave as a secondary rank.
SCRUBBED_PREFIXES = (
    "VHTQDM_", "VH_", "TQDM_", "VALOHAI_",
    "SLURM_", "OMPI_", "PMI_", "PMIX_", "MPI_", "MV2_", "TORCHELASTIC_", "JSM_NAMESPACE_",
    "HOROVOD_",
)  # fmt: skip
SCRUBBED_NAMES = frozenset(
    {
        "RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "GROUP_RANK", "GROUP_WORLD_SIZE",
        "ROLE_RANK", "ROLE_NAME", "ROLE_WORLD_SIZE", "NODE_RANK", "MASTER_ADDR", "MASTER_PORT",
    }
)  # fmt: skip
# Proxies: the tests talk to 127.0.0.1 only; a runner's proxy (requests reads the lowercase
# names first) must not stand between them. A test that is about proxies sets its own.
PROXIES = frozenset(
    f"{name}_{suffix}"
    for name in ("http", "https", "all", "ftp", "no")
    for suffix in ("proxy", "PROXY")
)
NO_CONFIG = "/nonexistent/vhtqdm-test-config"  # a Valohai config dir that is not there
LOOPBACK = "127.0.0.1,localhost"


def scrubbed(name: str) -> bool:
    """Whether the variable ``name`` is kept away from tests and their jobs."""
    return name.startswith(SCRUBBED_PREFIXES) or name in SCRUBBED_NAMES or name in PROXIES


def clean_env(environ: Mapping[str, str], config_dir: Path | str | None = None) -> dict[str, str]:
    """``environ`` without any scrubbed variable, with the Valohai config dir ``config_dir`` (one
    that does not exist when None) and no proxy for loopback: the environment every test and
    every job starts from (the autouse fixture of conftest.py and ``job_env``)."""
    environment = {k: v for k, v in environ.items() if not scrubbed(k)}
    environment["VH_CONFIG_DIR"] = str(config_dir) if config_dir else NO_CONFIG
    environment["NO_PROXY"] = LOOPBACK
    return environment


# -- jobs ------------------------------------------------------------------------------------------


@dataclass
class Run:
    code: int
    out: str
    err: str
    seconds: float


def job_env(config_dir: Path | None, env: dict[str, str] | None = None) -> dict[str, str]:
    """A job's environment: ours scrubbed (``clean_env``), the config dir, then ``env``."""
    environment = clean_env(os.environ, config_dir)
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


def failing_import_once(module: str, thread: str | None = None) -> str:
    """Job source (to put first) that fails the job's first import of ``module`` (on the thread
    named ``thread``, or any), as CPython 3.9 fails an import that meets a module another thread
    of the process is still importing."""
    return textwrap.dedent(
        f"""
        import sys, threading

        class FailsOnce:
            failed = False
            def find_spec(self, name, path=None, target=None):
                here = threading.current_thread().name
                if name == {module!r} and not self.failed and {thread!r} in (None, here):
                    self.failed = True
                    raise AttributeError("partially initialized module (a concurrent import)")
                return None

        sys.meta_path.insert(0, FailsOnce())
        """
    )


def _text(output: bytes) -> str:
    """Decoded as ``subprocess.run(text=True)`` would: universal newlines."""
    return output.decode().replace("\r\n", "\n").replace("\r", "\n")


# -- bars and statuses ----------------------------------------------------------------------------


def quiet(**kwargs: Any) -> dict[str, Any]:
    """Arguments of a bar that draws into a buffer on every update, keeping test output readable."""
    return {"file": io.StringIO(), "mininterval": 0, **kwargs}


def lines(status: str) -> list[dict[str, Any]]:
    """The elements of a status, one JSON object a line (every line must be one)."""
    return [json.loads(line) for line in status.split("\n")]


def last(server: StatusServer) -> list[dict[str, Any]]:
    """The elements of the latest status the server received (fails if none was)."""
    assert server.last is not None, "nothing was posted"
    return server.last.elements


def last_gauges(server: StatusServer) -> list[dict[str, Any]]:
    """The gauges of the latest status the server received (fails if none was)."""
    assert server.last is not None, "nothing was posted"
    return server.last.of_type("gauge")


def gauges(post: Post) -> list[str]:
    """The bars of ``post``'s gauges, in order: the first word of each label."""
    return [g["label"].split()[0] for g in post.of_type("gauge")]


def labels(server: StatusServer) -> set[str]:
    """The bars of every gauge in every status the server received."""
    return {name for post in server.posts for name in gauges(post)}


def metadata_points(out: str) -> list[dict[str, Any]]:
    """The Valohai metadata lines a job printed on stdout (JSON objects, one a line)."""
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]

"""Pytest plugin: tqdm's own test suite, run with vhtqdm's classes and helpers in place of tqdm's.

Loaded with ``-p vhtqdm_in_place`` from the root of tqdm's sdist (``nox -s tqdm_suite``). When
this plugin is imported, before tqdm's conftest and test modules are, the names they import
(``tqdm.tqdm``, ``tqdm.asyncio.tqdm``, ``tqdm.contrib.concurrent.thread_map``…) are rebound to
vhtqdm's, so every bar the suite makes, and every lock its fixtures swap, is vhtqdm's.

With ``VHTQDM_SUITE_MIRRORED=1`` mirroring is active as well: a recording status server on
127.0.0.1 plays Valohai, ``VHTQDM_LOG_INTERVAL=0`` keeps tqdm's own drawing (which the suite
asserts on byte for byte), and the run fails unless statuses were received. Under pytest-xdist
each worker has its own server and reports to the controller, which decides.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

# vhtqdm's recording server, loaded by path: tqdm's suite has a ``tests`` package of its own.
_spec = importlib.util.spec_from_file_location(
    "vhtqdm_status_server", Path(__file__).resolve().parents[1] / "server.py"
)
assert _spec is not None and _spec.loader is not None
server = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = server  # dataclasses look their module up while building classes
_spec.loader.exec_module(server)

MIRRORED = os.environ.get("VHTQDM_SUITE_MIRRORED") == "1"
_server: Any = None
_config = tempfile.TemporaryDirectory(prefix="vhtqdm-suite-")


def _vhtqdm(module: str, names: list[str]) -> dict[str, Any]:
    source = importlib.import_module(module)
    return {name: getattr(source, name) for name in names}


def replacements() -> dict[str, dict[str, Any]]:
    """tqdm module -> {name: vhtqdm object}, for every name tqdm's tests import."""
    import tqdm.contrib.itertools as tqdm_itertools

    flavours = {
        "tqdm": _vhtqdm("vhtqdm", ["tqdm", "trange"]),
        "tqdm.std": {},  # the base class stays tqdm's: vhtqdm's classes derive from it
        "tqdm.auto": _vhtqdm("vhtqdm.auto", ["tqdm", "trange"]),
        "tqdm.asyncio": _vhtqdm("vhtqdm.asyncio", ["tqdm_asyncio", "tarange", "tqdm", "trange"]),
        "tqdm.contrib": _vhtqdm("vhtqdm.contrib", ["tenumerate", "tzip", "tmap"]),
        "tqdm.contrib.concurrent": _vhtqdm(
            "vhtqdm.contrib.concurrent", ["thread_map", "process_map"]
        ),
        "tqdm.contrib.itertools": _vhtqdm("vhtqdm.contrib.itertools", list(tqdm_itertools.__all__)),
        "tqdm.contrib.logging": _vhtqdm(
            "vhtqdm.contrib.logging", ["logging_redirect_tqdm", "tqdm_logging_redirect"]
        ),
        "tqdm.notebook": _vhtqdm("vhtqdm.notebook", ["tqdm_notebook", "tnrange", "tqdm", "trange"]),
    }
    with contextlib.suppress(ImportError):  # no rich: tqdm's rich tests skip themselves
        flavours["tqdm.rich"] = _vhtqdm("vhtqdm.rich", ["tqdm_rich", "trrange", "tqdm", "trange"])
    with contextlib.suppress(ImportError):  # no Keras: tqdm's Keras test skips itself
        flavours["tqdm.keras"] = _vhtqdm("vhtqdm.keras", ["TqdmCallback"])
    return flavours


def _put_vhtqdm_in_place() -> None:
    global _server
    if MIRRORED:
        _server = server.StatusServer()
        server.write_api_json(Path(_config.name), _server.url)
        os.environ.update(
            VH_CONFIG_DIR=_config.name,
            NO_PROXY="127.0.0.1,localhost",
            VHTQDM_LOG_INTERVAL="0",
            VHTQDM_STATUS_INTERVAL="0.5",
        )
    else:
        os.environ["VH_CONFIG_DIR"] = os.path.join(_config.name, "absent")
    for module, names in replacements().items():
        target = importlib.import_module(module)
        for name, value in names.items():
            setattr(target, name, value)


_put_vhtqdm_in_place()


_reports: list[dict[str, Any]] = []  # what each xdist worker found (on the controller)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run unless mirroring was active exactly when it should have been. Under
    pytest-xdist each worker reports to the controller (which runs no test) and the controller
    decides, since a worker's own exit status does not make the run's."""
    if session.config.pluginmanager.has_plugin("dsession"):  # xdist's controller
        _check(session, _reports)
        return
    found = _found()
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: sent to the controller after this hook
        workeroutput["vhtqdm"] = found
    else:
        _check(session, [found])


@pytest.hookimpl(optionalhook=True)  # an xdist hook: absent without xdist
def pytest_testnodedown(node: Any, error: Any) -> None:
    found = getattr(node, "workeroutput", {}).get("vhtqdm")
    if found is not None:
        _reports.append(found)


def _found() -> dict[str, Any]:
    """Whether this process mirrored, and how many statuses its server received."""
    import vhtqdm
    from vhtqdm import _process

    mirror = _process.get()
    if MIRRORED:
        vhtqdm.flush(5)
    posts = len(_server.posts) if _server is not None else 0
    return {"mirrored": mirror is not None, "posts": posts}


def _check(session: pytest.Session, found: list[dict[str, Any]]) -> None:
    mirrored = any(f["mirrored"] for f in found)
    posts = sum(f["posts"] for f in found)
    if MIRRORED:
        print(f"\nvhtqdm: mirrored; the status servers received {posts} statuses")
        if not mirrored or posts == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
            print("vhtqdm: mirroring was expected to be active, and was not")
    elif mirrored:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print("vhtqdm: mirroring was active in the off-Valohai run")

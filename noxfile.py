"""Developer sessions. ``nox -s tests`` is the test suite: the whole suite on every CPython
3.9-3.13 found, in parallel (pytest-xdist). Each interpreter is a cell of one matrix that also
covers what a release depends on, so no whole run is repeated for it:

    tests-3.9    the lowest dependency versions pyproject.toml declares   from the source tree
    tests-3.10   the project, ``pip install .``                           from the source tree
    tests-3.11   the wheel built from the sdist                           from the extracted sdist
    tests-3.12   the project, ``pip install .``                           from the source tree
    tests-3.13   the project, ``pip install .``                           from the source tree

Every cell tests the installed package, never the source tree (``src/`` is not importable);
arguments after ``--`` go to pytest (``-- -m "not slow"``, ``-- -n 0`` for one process).

The other sessions: ``lint``, ``typecheck``, ``package`` (the sdist and the wheel built as a
release builds them, ``twine check --strict``, and a build with the floor of the declared build
backend), ``integrations`` (the real frameworks), ``tqdm_suite`` (tqdm's own tests with
vhtqdm's classes) and ``browser`` (the preview page in headless Chromium: needs Debian's
chromium and chromium-driver); ``reliability`` (the README's fault table) and ``bench`` (the
README's performance table) are not run by default.
"""

from __future__ import annotations

import shutil
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

import nox
from packaging.requirements import Requirement  # nox depends on packaging

if sys.version_info >= (3, 11):
    import tomllib
else:  # nox itself depends on tomli before 3.11
    import tomli as tomllib

PYTHONS = ["3.9", "3.10", "3.11", "3.12", "3.13"]
LOWEST = "3.9"  # the cell with the lowest declared dependency versions, on the oldest CPython
WHEEL = "3.11"  # the cell that tests the wheel built from the sdist
nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_venv = "yes"
ROOT = Path(__file__).resolve().parent
# The CPU build of PyTorch lies on the CI machine's disk for CPython 3.11; pinning it keeps pip
# from resolving a multi-gigabyte CUDA build when a framework asks for torch.
TORCH = "torch==2.13.0"
XDIST = "pytest-xdist>=3.0"  # tqdm's suite (the test extra has it)
# pytest-xdist workers, by measurement on the 2-core CI machine. The suite waits far more than
# it computes (subprocess jobs, throttles, timeouts): 238 s on one worker, 76 s on 4, 62-65 s
# on 6, 55-61 s on 8, 59-67 s on 12, where a preview test already flaked; 6 leaves headroom
# to the tests that bound wall-clock times.
WORKERS = "6"
# The integrations train tiny models in several processes each, CPU-bound: 77 s on one
# worker, 64 s on 3.
INTEGRATION_WORKERS = "3"
# tqdm's suite computes (its perf tests spin on CPU time) and each worker imports Keras and
# torch: 29 s on one process, 41 s on 2, 68 s on 4. One it is.
TQDM_SUITE_WORKERS = "0"
BROWSER_WORKERS = "2"  # two pages, each following a job of its own: 20 s on one, 16 s on 2


def pytest(session: nox.Session, *args: str, workers: str = WORKERS, **kwargs: Any) -> None:
    """pytest on ``workers`` xdist workers, ``session.posargs`` last (``-- -n 0`` wins).

    ``--dist loadgroup`` keeps each ``xdist_group`` on one worker, one test after another. Exit
    5 (nothing collected) is a failure: a suite that ran nothing never passes.
    """
    started = time.monotonic()
    session.run(
        "pytest", "-n", workers, "--dist", "loadgroup", *args, *session.posargs,
        success_codes=[0], **kwargs,
    )  # fmt: skip
    session.log(f"{session.name}: pytest took {time.monotonic() - started:.0f} s")


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The test suite against the installed package, on each CPython: the lowest declared
    dependencies on 3.9, the wheel built from the sdist on 3.11, ``pip install .`` elsewhere."""
    if session.python == LOWEST:
        install_lowest(session)
    elif session.python == WHEEL:
        install_wheel(session)  # and changes to the extracted sdist
    else:
        session.install(".[test]")
    pytest(session, "-p", "no:cacheprovider")


def floors(requirements: list[str]) -> list[str]:
    """``name==X`` for each ``name>=X`` of ``requirements``: the lowest versions they allow."""
    pins = []
    for line in requirements:
        requirement = Requirement(line)
        (lowest,) = [s.version for s in requirement.specifier if s.operator == ">="]
        pins.append(f"{requirement.name}=={lowest}")
    return pins


def pyproject() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)


def install_lowest(session: nox.Session) -> None:
    """The project with the lowest versions of the dependencies pyproject.toml declares, pinned
    by a constraints file so that nothing upgrades them (a floor that stops working fails)."""
    pins = floors(pyproject()["project"]["dependencies"])
    constraints = Path(session.create_tmp()) / "lowest.txt"
    constraints.write_text("\n".join(pins) + "\n")
    session.install("-c", str(constraints), ".[test]")
    for pin in pins:
        requirement = Requirement(pin)
        show = f"import importlib.metadata as m; print(m.version({requirement.name!r}))"
        installed = str(session.run_install("python", "-c", show, silent=True)).strip()
        if installed not in requirement.specifier:
            session.error(f"{requirement.name} {installed} is installed, not {pin}")
        session.log(f"{requirement.name} {installed}")


def build(session: nox.Session, dist: Path) -> tuple[Path, Path]:
    """The sdist, then the wheel from the sdist, as ``python -m build`` makes them for a release
    (the wheel proves the sdist builds)."""
    session.install("build")
    shutil.rmtree(dist, ignore_errors=True)
    session.run_install("python", "-m", "build", "--outdir", str(dist), str(ROOT))
    (sdist,) = dist.glob("vhtqdm-*.tar.gz")
    (wheel,) = dist.glob("vhtqdm-*.whl")
    return sdist, wheel


def install_wheel(session: nox.Session) -> None:
    """Install the wheel built from the sdist and change to the extracted sdist, its ``src/``
    removed, where the tests run against the installed wheel."""
    tmp = Path(session.create_tmp())
    sdist, wheel = build(session, tmp / "dist")
    session.install(f"{wheel}[test]")
    # A reused venv may hold the wheel of an earlier build with the same version number.
    session.install("--force-reinstall", "--no-deps", str(wheel))
    source = tmp / sdist.name.removesuffix(".tar.gz")
    shutil.rmtree(source, ignore_errors=True)
    with tarfile.open(sdist) as tar:
        tar.extractall(tmp, filter="data")
    # Nothing of the source tree can be imported: the tests see the installed wheel only.
    shutil.rmtree(source / "src")
    session.chdir(str(source))
    shown = str(session.run_install("pip", "show", "vhtqdm", silent=True))
    for field in ("License-Expression: MIT", "Home-page: https://"):
        if field not in shown:
            session.error(f"pip show vhtqdm lacks {field!r}:\n{shown}")
    show = "import vhtqdm; print(vhtqdm.__file__)"
    where = str(session.run_install("python", "-c", show, silent=True)).strip()
    if "site-packages" not in where:
        session.error(f"vhtqdm was imported from {where}, not from the installed wheel")
    session.log(f"vhtqdm imported from {where}")


@nox.session(python=WHEEL)
def package(session: nox.Session) -> None:
    """Build the sdist and the wheel as a release would, check them with ``twine check
    --strict``, and build once more without isolation with the declared build backend at its
    floor. (The tests run against this wheel in the ``tests-3.11`` cell.)"""
    tmp = Path(session.create_tmp())
    sdist, wheel = build(session, tmp / "dist")
    session.install("twine")
    session.run("twine", "check", "--strict", str(sdist), str(wheel))
    # The declared build requirement, at its floor, builds without isolation.
    session.install(*floors(pyproject()["build-system"]["requires"]))
    session.run(
        "pip", "wheel", "--no-build-isolation", "--no-deps", "--quiet",
        "--wheel-dir", str(tmp / "floor"), str(ROOT),
    )  # fmt: skip


@nox.session(python="3.11")
def reliability(session: nox.Session) -> None:
    """Run every fault and exit path as a real job; print the README's Reliability table."""
    session.install(".[test]")
    session.run("python", "-m", "tests.faults.report")


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    session.install("mypy", "types-requests", ".[test]")
    session.run("mypy")


@nox.session(python="3.11")
def integrations(session: nox.Session) -> None:
    """PyTorch, Keras 3 (torch backend), Lightning, Transformers, widgets, pandas: on the CPU,
    tiny models built locally, no downloads from a model hub."""
    session.install(TORCH, ".[test,integrations]")
    pytest(
        session,
        "tests/integrations",
        "tests/test_examples.py",
        workers=INTEGRATION_WORKERS,
        env={"VHTQDM_TEST_INTEGRATIONS": "1", "KERAS_BACKEND": "torch", "HF_HUB_OFFLINE": "1"},
    )


@nox.session(python="3.11")
def tqdm_suite(session: nox.Session) -> None:
    """tqdm's own test suite (from the sdist of the installed tqdm) with vhtqdm's classes in
    place of tqdm's: once off Valohai, once mirrored to a recording server."""
    session.install(TORCH, ".[tqdm-suite]", XDIST)  # torch: the backend of tqdm's Keras test
    version = session.run_install(
        "python", "-c", "import tqdm; print(tqdm.__version__)", silent=True
    )
    version = str(version).strip()
    download = Path(session.create_tmp()) / "sdist"
    shutil.rmtree(download, ignore_errors=True)
    session.run_install(
        "pip", "download", "--no-deps", "--no-binary", ":all:", f"tqdm=={version}",
        "-d", str(download), "--quiet",
    )  # fmt: skip
    (archive,) = download.glob("tqdm-*.tar.gz")
    with tarfile.open(archive) as tar:
        tar.extractall(download, filter="data")  # the filter refuses links and absolute paths
    source = download / f"tqdm-{version}"
    shutil.rmtree(source / "tqdm")  # test the installed tqdm, which vhtqdm's classes derive from
    session.chdir(str(source))
    # tqdm's test deletes `tqdm._lock` to see it recreated; vhtqdm's classes share tqdm.std's
    # lock by inheritance (so plain and vhtqdm bars never draw over each other) and have none
    # of their own to delete.
    deselect = ["--deselect", "tests/tests_tqdm.py::test_external_write"]
    for mirrored in ("0", "1"):
        pytest(
            session,
            "-p", "vhtqdm_in_place", "-p", "no:cacheprovider", *deselect,
            workers=TQDM_SUITE_WORKERS,
            env={
                "PYTHONPATH": str(ROOT / "tests" / "tqdm_suite"),
                "VHTQDM_SUITE_MIRRORED": mirrored,
                "KERAS_BACKEND": "torch",
            },
        )  # fmt: skip


@nox.session
def browser(session: nox.Session) -> None:
    """The preview page in headless Chromium; VHTQDM_SCREENSHOT=docs/preview.png re-takes the
    README's picture. A missing browser fails here (CI must look at the page), never skips."""
    session.install(".[test,browser]")
    env = {"VHTQDM_BROWSER_REQUIRED": "1"}
    pytest(session, "tests/browser", workers=BROWSER_WORKERS, env=env)


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """Issue 4's benchmarks: one table of figures and targets; fails when a target is missed.

    Not a default session and not part of the tests (several minutes; loopback servers only).
    Arguments go to ``python -m benchmarks`` (``-- --only 1-3 --rounds 5``).
    """
    session.install(".", "valohai-utils")
    session.run("python", "-m", "benchmarks", *session.posargs)

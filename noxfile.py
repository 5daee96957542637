"""Developer sessions: `nox -s tests` (every CPython 3.9-3.13 found), `lint`, `typecheck`,
`package` (the built sdist and wheel, the tests against the installed wheel), `lowest` (the tests
with the lowest dependency versions pyproject.toml declares), `integrations` (the real
frameworks), `tqdm_suite` (tqdm's own tests with vhtqdm's classes) and `browser` (the preview
page in headless Chromium: needs Debian's chromium and chromium-driver); `reliability` (the
README's fault table) and `bench` (the README's performance table) are not run by default."""

from __future__ import annotations

import shutil
import sys
import tarfile
from pathlib import Path
from typing import Any

import nox
from packaging.requirements import Requirement  # nox depends on packaging

if sys.version_info >= (3, 11):
    import tomllib
else:  # nox itself depends on tomli before 3.11
    import tomli as tomllib

PYTHONS = ["3.9", "3.10", "3.11", "3.12", "3.13"]
nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_venv = "yes"
ROOT = Path(__file__).resolve().parent
# The CPU build of PyTorch lies on the CI machine's disk for CPython 3.11; pinning it keeps pip
# from resolving a multi-gigabyte CUDA build when a framework asks for torch.
TORCH = "torch==2.13.0"


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The test suite against the installed package (not the source tree)."""
    session.install(".[test]")
    # pytest exits 5 when it collected nothing: that is a broken suite, never a pass.
    session.run("pytest", *session.posargs, success_codes=[0])


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


@nox.session(python="3.11", reuse_venv=False)  # a fresh venv: the wheel installs anew
def package(session: nox.Session) -> None:
    """Build the sdist and the wheel as a release would, check them, install the wheel into this
    session's fresh venv and run the tests from the extracted sdist against it."""
    session.install("build", "twine")
    tmp = Path(session.create_tmp())
    dist = tmp / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    # `build` makes the sdist, then the wheel from the sdist: the wheel proves the sdist builds.
    session.run("python", "-m", "build", "--outdir", str(dist), str(ROOT))
    (sdist,) = dist.glob("vhtqdm-*.tar.gz")
    (wheel,) = dist.glob("vhtqdm-*.whl")
    session.run("twine", "check", "--strict", str(sdist), str(wheel))

    # The declared build requirement, at its floor, builds without isolation.
    session.install(*floors(pyproject()["build-system"]["requires"]))
    session.run(
        "pip", "wheel", "--no-build-isolation", "--no-deps", "--quiet",
        "--wheel-dir", str(tmp / "floor"), str(ROOT),
    )  # fmt: skip

    source = tmp / sdist.name.removesuffix(".tar.gz")
    shutil.rmtree(source, ignore_errors=True)
    with tarfile.open(sdist) as tar:
        tar.extractall(tmp, filter="data")
    # Nothing of the source tree can be imported: the tests see the installed wheel only.
    shutil.rmtree(source / "src")
    session.install(f"{wheel}[test]")
    session.chdir(str(source))
    shown = str(session.run("pip", "show", "vhtqdm", silent=True))
    for field in ("License-Expression: MIT", "Home-page: https://"):
        if field not in shown:
            session.error(f"pip show vhtqdm lacks {field!r}:\n{shown}")
    where = str(session.run("python", "-c", "import vhtqdm; print(vhtqdm.__file__)", silent=True))
    if "site-packages" not in where:
        session.error(f"vhtqdm was imported from {where}, not from the installed wheel")
    session.log(f"vhtqdm imported from {where.strip()}")
    session.run("pytest", "-p", "no:cacheprovider", *session.posargs, success_codes=[0])


@nox.session(python="3.9")
def lowest(session: nox.Session) -> None:
    """The tests on the oldest CPython with the lowest versions of the dependencies
    pyproject.toml declares, pinned by a constraints file so that nothing upgrades them."""
    pins = floors(pyproject()["project"]["dependencies"])
    constraints = Path(session.create_tmp()) / "lowest.txt"
    constraints.write_text("\n".join(pins) + "\n")
    session.install("-c", str(constraints), ".[test]")
    for pin in pins:
        requirement = Requirement(pin)
        show = f"import importlib.metadata as m; print(m.version({requirement.name!r}))"
        installed = str(session.run("python", "-c", show, silent=True)).strip()
        if installed not in requirement.specifier:
            session.error(f"{requirement.name} {installed} is installed, not {pin}")
        session.log(f"{requirement.name} {installed}")
    session.run("pytest", *session.posargs, success_codes=[0])


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
    session.run(
        "pytest",
        "tests/integrations",
        "tests/test_examples.py",
        *session.posargs,
        env={"VHTQDM_TEST_INTEGRATIONS": "1", "KERAS_BACKEND": "torch", "HF_HUB_OFFLINE": "1"},
        success_codes=[0],
    )


@nox.session(python="3.11")
def tqdm_suite(session: nox.Session) -> None:
    """tqdm's own test suite (from the sdist of the installed tqdm) with vhtqdm's classes in
    place of tqdm's: once off Valohai, once mirrored to a recording server."""
    session.install(TORCH, ".[tqdm-suite]")  # torch: the backend of tqdm's Keras test
    version = session.run("python", "-c", "import tqdm; print(tqdm.__version__)", silent=True)
    version = str(version).strip()
    download = Path(session.create_tmp()) / "sdist"
    shutil.rmtree(download, ignore_errors=True)
    session.run(
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
        session.run(
            "pytest",
            "-p", "vhtqdm_in_place", "-p", "no:cacheprovider", *deselect, *session.posargs,
            env={
                "PYTHONPATH": str(ROOT / "tests" / "tqdm_suite"),
                "VHTQDM_SUITE_MIRRORED": mirrored,
                "KERAS_BACKEND": "torch",
            },
            success_codes=[0],
        )  # fmt: skip


@nox.session
def browser(session: nox.Session) -> None:
    """The preview page in headless Chromium; VHTQDM_SCREENSHOT=docs/preview.png re-takes the
    README's picture. A missing browser fails here (CI must look at the page), never skips."""
    session.install(".[test,browser]")
    env = {"VHTQDM_BROWSER_REQUIRED": "1"}
    session.run("pytest", "tests/browser", *session.posargs, env=env, success_codes=[0])


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """Issue 4's benchmarks: one table of figures and targets; fails when a target is missed.

    Not a default session and not part of the tests (several minutes; loopback servers only).
    Arguments go to ``python -m benchmarks`` (``-- --only 1-3 --rounds 5``).
    """
    session.install(".", "valohai-utils")
    session.run("python", "-m", "benchmarks", *session.posargs)

"""Developer sessions: `nox -s tests` (every CPython 3.9-3.13 found), `lint`, `typecheck`;
`browser` (the preview page in headless Chromium: needs Debian's chromium and chromium-driver),
`reliability` (the README's fault table) and `bench` (the README's performance table), not run
by default."""

from __future__ import annotations

import nox

PYTHONS = ["3.9", "3.10", "3.11", "3.12", "3.13"]
nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_venv = "yes"


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The test suite against the installed package (not the source tree)."""
    session.install(".[test]")
    # pytest exits 5 when it collected nothing: that is a broken suite, never a pass.
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

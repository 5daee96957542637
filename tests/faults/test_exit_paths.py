"""Each way a job ends: the final status says what happened; exit code, traceback: the user's."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from ..helpers import run_script
from ..server import StatusServer
from .scenarios import EXIT_PATHS, FLUSH_TIMEOUT, ExitPath, measure, run_signal

pytestmark = pytest.mark.slow


def traceback_of(stderr: str) -> list[str]:
    """The traceback the job printed (its bars aside: on Valohai they print in log mode)."""
    lines = stderr.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("Traceback")), len(lines))
    return [line for line in lines[start:] if "%|" not in line]


@pytest.mark.timing
@pytest.mark.parametrize("path", EXIT_PATHS, ids=[p.name for p in EXIT_PATHS])
def test_the_final_status_matches_how_the_job_ended(
    path: ExitPath, server: StatusServer, config_dir: Path
) -> None:
    run = measure(path.source, config_dir)
    baseline = run_script(path.source, None)  # the same job off Valohai
    assert run.code == baseline.code == path.code
    assert traceback_of(run.err) == traceback_of(baseline.err)  # word for word
    assert run.exit < FLUSH_TIMEOUT + 1.5
    assert server.last is not None
    elements = server.last.elements
    if path.head is not None:
        assert elements[0] == path.head
    assert [g.get("color") for g in server.last.of_type("gauge")] == list(path.gauge_colors)


def test_sigint_from_outside_ends_interrupted(server: StatusServer, config_dir: Path) -> None:
    proc, _ = run_signal(signal.SIGINT, config_dir)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGINT
    assert "KeyboardInterrupt" in err
    assert server.last is not None
    head = server.last.elements[0]
    assert head["color"] == "warn" and head["text"].startswith("Interrupted at ")


def test_sigterm_turned_into_sys_exit_by_the_user_still_flushes(
    server: StatusServer, config_dir: Path
) -> None:
    handler = "import signal, sys\nsignal.signal(signal.SIGTERM, lambda *_: sys.exit(143))"
    proc, _sent = run_signal(signal.SIGTERM, config_dir, handler)
    proc.communicate(timeout=30)
    assert proc.returncode == 143
    assert server.last is not None
    (gauge,) = server.last.of_type("gauge")
    assert gauge["color"] == "warn"  # stopped early, not a failure


@pytest.mark.parametrize("sigterm", ["1", "0"])
def test_vhtqdm_installs_no_signal_handlers_but_sigterms(config_dir: Path, sigterm: str) -> None:
    # SIGTERM gets one (the "Stopped at" status, tests/test_sigterm.py) unless VHTQDM_SIGTERM=0.
    run = run_script(
        """
        import signal
        before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        import vhtqdm
        from vhtqdm import tqdm
        for i in tqdm(range(3)):
            pass
        vhtqdm.flush(2)
        after = {s: signal.getsignal(s) for s in before}
        print(sorted(s.name for s in before if before[s] != after[s]))
        """,
        config_dir,
        env={"VHTQDM_SIGTERM": sigterm},
    )
    assert run.out.strip() == ("['SIGTERM']" if sigterm == "1" else "[]"), run.err


def test_os_exit_in_a_forked_child_leaves_the_parent_status_alone(
    server: StatusServer, config_dir: Path
) -> None:
    run = run_script(
        """
        import os, time
        from vhtqdm import tqdm
        bar = tqdm(total=4, desc="parent")
        for i in range(4):
            pid = os.fork()
            if pid == 0:  # the child runs its own bar, then leaves without cleanup
                for _ in tqdm(range(3), desc="child"):
                    pass
                os._exit(7)
            _, status = os.waitpid(pid, 0)
            assert os.waitstatus_to_exitcode(status) == 7
            bar.update()
        bar.close()
        """,
        config_dir,
    )
    assert run.code == 0, run.err
    labels = {g["label"].split()[0] for p in server.posts for g in p.of_type("gauge")}
    assert labels <= {"parent", "child"}  # the children relay their bar to the parent (issue 11)
    assert all(p.of_type("gauge")[0]["label"].startswith("parent") for p in server.posts)
    assert server.last is not None
    assert server.last.of_type("gauge")[0]["color"] == "good"

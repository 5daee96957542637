"""SIGTERM (how platforms stop a job): the final status says "Stopped at …", then the process
dies of SIGTERM, unless the program handles SIGTERM itself. Each case in its own interpreter."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from .helpers import ROOT, job_env
from .server import StatusServer

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timing,
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals"),
]

FLUSH_TIMEOUT = 1.0
STOPPED = re.compile(r"Stopped at train \d+/1000")

LOOP = """
    import time
    from vhtqdm import tqdm
    {before}
    bar = tqdm(total=1000, desc="train", status_interval=0.5)
    {after}
    for i in range(1000):
        bar.update()
        if i == 3:
            print("ready", flush=True)
        time.sleep(0.05)
"""


def stop(
    source: str, server: StatusServer, config_dir: Path, env: dict[str, str] | None = None
) -> tuple[int, float, str]:
    """Run ``source``, SIGTERM it once it prints "ready" and its first status has arrived; its
    wait status, the seconds from the signal to its end, and its stdout."""
    environment = job_env(config_dir, {"VHTQDM_FLUSH_TIMEOUT": str(FLUSH_TIMEOUT), **(env or {})})
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(source)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment,
        cwd=str(ROOT),
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read() if proc.stderr else ""
        # The first status, not a fixed pause: on a loaded machine the sender thread's first
        # import of requests alone can outlast a pause, and the final post's flush with it.
        assert server.wait_for(bool, timeout=20), "no first status"
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        return proc.returncode, time.monotonic() - sent, out
    finally:
        proc.kill()
        proc.wait()


def texts(server: StatusServer) -> list[str]:
    return [t for post in server.posts for t in post.texts()]


def test_sigterm_shows_stopped_then_ends_as_sigterm_does(
    server: StatusServer, config_dir: Path
) -> None:
    code, seconds, _ = stop(LOOP.format(before="", after=""), server, config_dir)
    assert code == -signal.SIGTERM
    assert seconds < FLUSH_TIMEOUT + 1 + 1.5  # + 1.5 s for a loaded machine
    assert server.last is not None
    first = server.last.elements[0]
    assert first["type"] == "text" and STOPPED.fullmatch(first["text"]), first
    assert first["color"] == "warn"
    (gauge,) = server.last.of_type("gauge")
    assert gauge["color"] == "warn" and gauge["value"] < 1000


def test_sigterm_during_a_long_c_call_still_shows_stopped(
    server: StatusServer, config_dir: Path
) -> None:
    busy = """
        import hashlib
        from vhtqdm import tqdm
        bar = tqdm(total=1000, desc="train", status_interval=0.5)
        bar.update(412)
        print("ready", flush=True)
        hashlib.pbkdf2_hmac("sha256", b"password", b"salt", 10**9)  # minutes inside C
    """
    code, seconds, _ = stop(busy, server, config_dir)
    assert code == -signal.SIGTERM
    assert seconds < FLUSH_TIMEOUT + 1 + 1.5
    assert server.last is not None
    assert server.last.texts()[0] == "Stopped at train 412/1000"


@pytest.mark.parametrize("where", ["before", "after"])
def test_a_handler_of_the_program_stays_in_charge(
    server: StatusServer, config_dir: Path, where: str
) -> None:
    handler = (
        "import signal, sys; "
        "signal.signal(signal.SIGTERM, lambda *a: (print('handled', flush=True), sys.exit(3)))"
    )
    code, _, out = stop(
        LOOP.format(**{"before": "", "after": "", where: handler}), server, config_dir
    )
    assert code == 3
    assert "handled" in out
    assert not any("Stopped" in t for t in texts(server))


def test_vhtqdm_sigterm_0_opts_out(server: StatusServer, config_dir: Path) -> None:
    code, seconds, _ = stop(
        LOOP.format(before="", after=""), server, config_dir, {"VHTQDM_SIGTERM": "0"}
    )
    assert code == -signal.SIGTERM
    assert seconds < 2
    assert server.posts and not any("Stopped" in t for t in texts(server))


def test_a_forked_child_dies_of_sigterm_and_the_parent_goes_on(
    server: StatusServer, config_dir: Path
) -> None:
    source = """
        import os, signal, time
        from vhtqdm import tqdm
        bar = tqdm(total=10, desc="train")
        bar.update(1)
        pid = os.fork()
        if pid == 0:
            time.sleep(20)
            os._exit(0)
        time.sleep(0.5)
        os.kill(pid, signal.SIGTERM)
        _, status = os.waitpid(pid, 0)
        print(os.WIFSIGNALED(status) and os.WTERMSIG(status))
        time.sleep(0.5)  # the parent would be stopped by now if the child's signal reached it
        bar.update(9)
        bar.close()
    """
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(source)],
        capture_output=True,
        text=True,
        timeout=30,
        env=job_env(config_dir),
        cwd=str(ROOT),
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(int(signal.SIGTERM))
    assert server.last is not None
    assert [g["color"] for g in server.last.of_type("gauge")] == ["good"]
    assert not any("Stopped" in t for t in texts(server))

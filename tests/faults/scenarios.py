"""The fault catalogue: each server fault, broken config and exit path, run as a real job.

Shared by the fault tests (which assert on each run) and by ``python -m tests.faults.report``
(which prints the README's Reliability table with the measured times).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path
from typing import Any

from ..helpers import job_env, run_script
from ..server import Answer, StatusServer, write_api_json

FLUSH_TIMEOUT = 1.0
STEPS, STEP_SECONDS = 40, 0.025  # a 1 s loop
IDEAL_LOOP = STEPS * STEP_SECONDS

#: A training loop that reports its own loop time and the moment it ended (wall clock).
JOB = f"""
import sys, time
from vhtqdm import tqdm
started = time.monotonic()
bar = tqdm(range({STEPS}), desc="train", status_interval=0.5)
for i in bar:
    time.sleep({STEP_SECONDS})
    bar.set_postfix(loss=1.0 / (i + 1))
now = time.monotonic()  # system-wide on Linux: comparable with the test's and the server's clock
print(f"loop={{now - started:.3f}} end={{now:.3f}}", flush=True)
"""


@dataclass(frozen=True)
class Fault:
    """A misbehaving status endpoint and what the user sees while the job runs into it."""

    name: str
    sees: str  # what the user sees (README table)
    answer: Answer = field(default_factory=Answer)
    script: Sequence[Answer] = ()
    url: str | None = None  # "refused" or "unresolvable" replaces the server's URL
    warning: str | None = None  # a substring of the one warning expected, None for none
    final_delivered: bool = False  # the complete final status reaches the server


def _http_date(seconds_from_now: float) -> str:
    return formatdate(time.time() + seconds_from_now, usegmt=True)


FAULTS = [
    Fault(
        "slow server (3 s per request)",
        "nothing; statuses arrive late, the newest wins",
        Answer(delay=3.0),
    ),
    Fault(
        "hung server (accepts, never answers)",
        "nothing",
        Answer(hang=True),
    ),
    Fault(
        "trickling server (a header line every 0.5 s, forever)",
        "nothing; each request is cut at its 15 s total bound",
        Answer(trickle=True),
    ),
    Fault(
        "HTTP 500 on every request",
        "one warning: refused a status update (HTTP 500)",
        Answer(code=500),
        warning="(HTTP 500)",
    ),
    Fault(
        "intermittent 503 (every other request)",
        "one warning; retried with backoff, final status delivered",
        Answer(code=200),
        script=(Answer(code=503), Answer(code=200)) * 3,
        warning="(HTTP 503)",
        final_delivered=True,
    ),
    Fault(
        "429 with Retry-After: 1 (seconds)",
        "one warning; the next try waits 1 s",
        Answer(code=200),
        script=(Answer(code=429, headers={"Retry-After": "1"}),),
        warning="(HTTP 429)",
        final_delivered=True,
    ),
    Fault(
        "429 with Retry-After as an HTTP date",
        "one warning; the next try waits for that date",
        Answer(code=200),
        script=(Answer(code=429, headers={"Retry-After": "__DATE+2__"}),),
        warning="(HTTP 429)",
        final_delivered=True,
    ),
    Fault(
        "401 token refused",
        "one warning; mirroring off for the process",
        Answer(code=401),
        warning="refused the status token (HTTP 401)",
    ),
    Fault(
        "403 forbidden",
        "one warning; mirroring off for the process",
        Answer(code=403),
        warning="refused the status token (HTTP 403)",
    ),
    Fault(
        "connection refused (nothing listens)",
        "one warning; retried with backoff (at exit: within the flush timeout)",
        url="refused",
        warning="(ConnectionError)",
    ),
    Fault(
        "unresolvable host",
        "one warning; retried with backoff (at exit: within the flush timeout)",
        url="unresolvable",
        warning="(ConnectionError)",
    ),
]


@dataclass
class Measured:
    """One run of ``JOB`` against a fault: what happened and how long it took."""

    code: int
    out: str
    err: str
    loop: float  # seconds the loop took
    exit: float  # seconds from the end of the loop to the end of the process
    ended: float  # time.monotonic() when the loop ended


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare(fault: Fault, server: StatusServer, config: Path) -> None:
    """Point ``config``'s api.json at the fault and teach the server its answers."""
    config.mkdir(parents=True, exist_ok=True)
    url = server.url
    if fault.url == "refused":
        url = f"http://127.0.0.1:{free_port()}/api/v0/executions/e-1/status/"
    elif fault.url == "unresolvable":
        url = "http://status.vhtqdm.invalid/api/v0/executions/e-1/status/"
    write_api_json(config, url)
    server.answer = fault.answer
    server.script = [_dated(answer) for answer in fault.script]


def _dated(answer: Answer) -> Answer:
    value = answer.headers.get("Retry-After", "")
    if value.startswith("__DATE+"):
        seconds = float(value[len("__DATE+") : -2])
        return Answer(answer.code, answer.delay, {"Retry-After": _http_date(seconds)}, answer.hang)
    return answer


def measure(source: str, config: Path | None, env: dict[str, str] | None = None) -> Measured:
    """Run a job that prints ``loop=… end=…``; time its loop and its exit."""
    environment = {"VHTQDM_FLUSH_TIMEOUT": str(FLUSH_TIMEOUT), **(env or {})}
    run = run_script(source, config, timeout=60, env=environment)
    finished = time.monotonic()  # not time.time(): a step of the wall clock is no slow exit
    fields = {"loop": "nan", "end": "nan"}
    for line in run.out.splitlines():
        if line.startswith("loop="):
            fields.update(part.split("=") for part in line.split())
    loop, ended = (float(fields[k]) for k in ("loop", "end"))
    return Measured(run.code, run.out, run.err, loop, finished - ended, ended)


def warnings_in(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("vhtqdm:")]


# -- exit paths -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExitPath:
    """How a job ends, the status it must leave, and the exit code the user chose."""

    name: str
    sees: str
    source: str
    code: Any  # expected exit code (an int, or a callable check)
    head: dict[str, Any] | None = None  # the expected first line of the final status
    gauge_colors: Sequence[str] = ()


EXIT_PATHS = [
    ExitPath(
        "normal end",
        "complete gauges in good",
        JOB,
        0,
        gauge_colors=("good",),
    ),
    ExitPath(
        "exception inside `with tqdm(...)`",
        "`Failed at train 3/10: ValueError: bad batch` in bad; traceback and exit code 1 unchanged",
        """
        import time
        from vhtqdm import tqdm
        print("loop=0 end=%f" % time.monotonic(), flush=True)
        with tqdm(total=10, desc="train") as bar:
            bar.update(3)
            raise ValueError("bad batch")
        """,
        1,
        head={
            "type": "text",
            "text": "Failed at train 3/10: ValueError: bad batch",
            "color": "bad",
        },
        gauge_colors=("bad",),
    ),
    ExitPath(
        "exception escaping a `for` loop",
        "`Failed at train 5/20: RuntimeError: CUDA out of memory` in bad; exit code 1",
        """
        import time
        from vhtqdm import tqdm
        for i in tqdm(range(20), desc="train"):
            if i == 5:
                print("loop=0 end=%f" % time.monotonic(), flush=True)
                raise RuntimeError("CUDA out of memory")
        """,
        1,
        head={
            "type": "text",
            "text": "Failed at train 5/20: RuntimeError: CUDA out of memory",
            "color": "bad",
        },
        gauge_colors=("bad",),
    ),
    ExitPath(
        "KeyboardInterrupt (Ctrl-C)",
        "`Interrupted at train 5/20: KeyboardInterrupt` in warn; exit code 130 (SIGINT)",
        """
        import time
        from vhtqdm import tqdm
        for i in tqdm(range(20), desc="train"):
            if i == 5:
                print("loop=0 end=%f" % time.monotonic(), flush=True)
                raise KeyboardInterrupt
        """,
        -2,
        head={
            "type": "text",
            "text": "Interrupted at train 5/20: KeyboardInterrupt",
            "color": "warn",
        },
        gauge_colors=("warn",),
    ),
    ExitPath(
        "`sys.exit(3)` mid-loop",
        "the bar in warn (closed early); exit code 3",
        """
        import sys, time
        from vhtqdm import tqdm
        for i in tqdm(range(20), desc="train"):
            if i == 5:
                print("loop=0 end=%f" % time.monotonic(), flush=True)
                sys.exit(3)
        """,
        3,
        gauge_colors=("warn",),
    ),
]


def run_signal(sig: int, config: Path, handler: str = "") -> tuple[subprocess.Popen[str], float]:
    """Start a long job, send ``sig`` once it runs; returns the process and the send time."""
    source = handler + "\n" + JOB.replace(f"range({STEPS})", "range(100000)")
    env = job_env(config, {"VHTQDM_FLUSH_TIMEOUT": str(FLUSH_TIMEOUT)})
    proc = subprocess.Popen(
        [sys.executable, "-u", "-c", source],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    time.sleep(1.5)  # started, first status posted, a few steps done
    sent = time.time()
    proc.send_signal(sig)
    return proc, sent


def statuses(server: StatusServer) -> list[list[dict[str, Any]]]:
    return [[json.loads(line) for line in post.status.split("\n")] for post in server.posts]

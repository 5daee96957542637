"""Every server fault: the loop keeps its speed, exit stays bounded, one warning, no token."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ..server import TOKEN, Answer, StatusServer
from .scenarios import (
    FAULTS,
    FLUSH_TIMEOUT,
    IDEAL_LOOP,
    JOB,
    STEPS,
    Fault,
    measure,
    prepare,
    warnings_in,
)

pytestmark = [pytest.mark.slow, pytest.mark.timing]

LOOP_MARGIN = 0.5  # seconds over the ideal 1 s loop: scheduling noise on a loaded machine
EXIT_MARGIN = 1.5  # seconds over the flush timeout: interpreter start-up noise and teardown


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_a_fault_costs_the_job_nothing(fault: Fault, server: StatusServer, tmp_path: Path) -> None:
    prepare(fault, server, tmp_path / "config")
    run = measure(JOB, tmp_path / "config")
    assert run.code == 0, run.err
    assert run.loop < IDEAL_LOOP + LOOP_MARGIN, f"the loop took {run.loop:.2f} s"
    assert run.exit < FLUSH_TIMEOUT + EXIT_MARGIN, f"exit took {run.exit:.2f} s; {run.err}"
    assert "Traceback" not in run.err
    said = warnings_in(run.err)
    if fault.warning is None:
        assert said == []
    else:
        assert len(said) == 1 and fault.warning in said[0], said
    assert TOKEN not in run.out + run.err
    if fault.final_delivered:
        assert server.last is not None
        (gauge,) = server.last.of_type("gauge")
        assert (gauge["value"], gauge.get("color")) == (STEPS, "good")


def test_after_recovery_the_newest_status_is_delivered(
    server: StatusServer, tmp_path: Path
) -> None:
    fault = next(f for f in FAULTS if f.name.startswith("intermittent 503"))
    prepare(fault, server, tmp_path / "config")
    measure(JOB, tmp_path / "config")
    values = [post.of_type("gauge")[0]["value"] for post in server.posts]
    assert values == sorted(values), "a stale status was delivered after a newer one"
    assert values[-1] == STEPS


def test_retry_after_is_honoured(server: StatusServer, tmp_path: Path) -> None:
    fault = next(f for f in FAULTS if f.name.startswith("429 with Retry-After: 1"))
    prepare(fault, server, tmp_path / "config")
    server.script = [Answer(code=429, headers={"Retry-After": "2"})]  # longer than any backoff
    measure(JOB.replace("range(40)", "range(120)"), tmp_path / "config")  # a 3 s loop
    (refused, _), (retried, _) = server.log[0], server.log[1]
    assert server.log[0][1] == 429
    assert retried - refused >= 1.9


def test_backoff_spaces_retries_of_a_failing_server(server: StatusServer, tmp_path: Path) -> None:
    prepare(next(f for f in FAULTS if f.name.startswith("HTTP 500")), server, tmp_path / "config")
    server.answer = Answer(code=503)  # every request: retryable
    run = measure(JOB.replace("range(40)", "range(160)"), tmp_path / "config")  # a 4 s loop
    during = [at for at, _ in server.log if at < run.ended]  # the exit flush comes after
    gaps = [b - a for a, b in zip(during, during[1:])]
    assert 2 <= len(during) <= 4, "a failing server must not be hammered"
    assert all(gap >= 0.75 for gap in gaps), gaps  # 1 s, 2 s, ... each -20 % at worst
    assert len(server.log) - len(during) <= 3  # the exit flush: one try, and short retries


def test_401_stops_mirroring_for_the_process(server: StatusServer, tmp_path: Path) -> None:
    fault = next(f for f in FAULTS if f.name.startswith("401"))
    prepare(fault, server, tmp_path / "config")
    run = measure(JOB.replace("range(40)", "range(80)"), tmp_path / "config")
    assert run.code == 0
    assert server.attempts == 1  # neither the 2 s of loop nor the exit flush try again


def test_every_request_has_a_total_time_bound(server: StatusServer) -> None:
    # A server that never stops sending headers defeats per-read timeouts; the bound holds.
    from vhtqdm._config import Endpoint
    from vhtqdm._transport import RETRY, Transport

    server.answer = Answer(trickle=True)
    transport = Transport(Endpoint(server.url))
    started = time.monotonic()
    result = transport.post("{}", timeout=1.5)
    took = time.monotonic() - started
    assert result.kind == RETRY and result.detail == "ReadTimeout"
    assert 1.4 < took < 2.5
    transport.close()

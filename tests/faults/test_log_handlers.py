"""A logging handler that raises (a log sink that is down) never reaches the job or the sender."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..helpers import run_script
from ..server import Answer, StatusServer

pytestmark = pytest.mark.slow

JOB = """
import logging, sys, time

class Down(logging.Handler):
    def emit(self, record):
        raise OSError("the log sink is down")

logging.getLogger().addHandler(Down())
from vhtqdm import tqdm
for i in tqdm(range(4), desc="train", status_interval=0.5, mininterval=0):
    time.sleep(0.4)
print("done")
sys.exit(7)
"""


def final_gauge(server: StatusServer) -> dict[str, object]:
    assert server.wait_for(lambda posts: any("train 4/4" in p.status for p in posts), 5)
    assert server.last is not None
    (gauge,) = server.last.of_type("gauge")
    return gauge


def test_a_raising_handler_and_a_bad_setting_leave_the_job_alone(
    server: StatusServer, config_dir: Path
) -> None:
    # The bad value is warned about inside the first tqdm(): the previous code raised there.
    run = run_script(JOB, config_dir, env={"VHTQDM_SPARKLINES": "1", "VHTQDM_FLUSH_TIMEOUT": "x"})
    assert (run.code, run.out) == (7, "done\n"), run.err
    assert "the log sink is down" not in run.err
    assert final_gauge(server)["color"] == "good"


def test_a_raising_handler_does_not_kill_the_sender(server: StatusServer, config_dir: Path) -> None:
    # The first post fails: the sender warns (the previous code died there) and must go on.
    server.script = [Answer(code=500)]
    run = run_script(JOB, config_dir)
    assert (run.code, run.out) == (7, "done\n"), run.err
    assert "the log sink is down" not in run.err
    assert final_gauge(server)["color"] == "good"
    assert server.attempts >= 2

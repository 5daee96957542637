"""gevent and eventlet: a job that monkey-patches everything keeps running and mirrored."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..helpers import run_script
from ..server import StatusServer
from . import require

PATCH = {
    "gevent": "from gevent import monkey; monkey.patch_all()",
    "eventlet": "import eventlet; eventlet.monkey_patch()",
}


@pytest.mark.timing
@pytest.mark.parametrize("library", sorted(PATCH))
def test_a_green_job_runs_at_its_pace_and_is_mirrored(
    library: str, server: StatusServer, config_dir: Path
) -> None:
    # Fails on the previous code: under gevent the SIGTERM watcher's plain os.read() froze the
    # whole process at the loop's first sleep; under eventlet api.json read as unreadable (its
    # os.fdopen closes the descriptor it wraps), so nothing was posted.
    require(library)
    run = run_script(
        PATCH[library]
        + """
import time, vhtqdm
from vhtqdm import tqdm
started = time.monotonic()
for i in tqdm(range(20), desc="green"):
    time.sleep(0.05)
print(round(time.monotonic() - started, 2), vhtqdm.flush(5))
""",
        config_dir,
        timeout=60,
        env={"VHTQDM_STATUS_INTERVAL": "0.5", "PYTHONWARNINGS": "ignore"},
    )
    assert run.code == 0, run.err
    seconds, delivered = run.out.split()
    assert float(seconds) < 3 and delivered == "True", run.out
    assert "unreadable" not in run.err and "cannot read" not in run.err
    assert server.last is not None and "green 20/20" in server.last.status

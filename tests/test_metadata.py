"""Metadata lines that chart: a run-wide step, the epoch, the job's progress, no blank lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import metadata_points, run_script
from .server import StatusServer

pytestmark = pytest.mark.slow

EPOCHS = """
    import time
    from vhtqdm import tqdm, trange
    for epoch in trange(3, desc="epoch", status_interval=0.5, metadata=True):
        bar = tqdm(range(20), desc="train", leave=False, metadata=True)  # re-created each epoch
        for step in bar:
            time.sleep(0.03)
            bar.set_postfix(loss=1 / (epoch * 20 + step + 1))
"""


def test_the_step_runs_across_reborn_inner_bars_with_the_epoch(
    server: StatusServer, config_dir: Path
) -> None:
    run = run_script(EPOCHS, config_dir, env={"VHTQDM_LOG_INTERVAL": "0"})
    assert run.code == 0, run.err
    found = metadata_points(run.out)
    assert len(found) >= 3, run.out
    steps = [p["step"] for p in found]
    assert steps == sorted(steps) and len(set(steps)) == len(steps), steps
    assert {p["epoch"] for p in found} >= {0, 1, 2}
    for p in found:  # epoch * 20 + batch, though tqdm's iterator writes bar.n only as it redraws
        assert p["step"] == 20 * p["epoch"] + (p["step"] % 20) == round(1 / p["loss"]) - 1, p
    charted = [p for p in found if "job_progress" in p]  # from the first status on
    assert len(charted) >= len(found) - 1
    assert all(0 <= p["job_progress"] <= 1 for p in charted)
    # An ETA once the job has progressed (none at 0 %: the pace is not known yet).
    assert all(isinstance(p["job_eta"], int) for p in charted if p["job_progress"] > 0)
    assert max(p["job_progress"] for p in charted) > 0.5


def test_no_empty_lines_in_a_log(server: StatusServer, config_dir: Path) -> None:
    run = run_script(EPOCHS, config_dir)  # stdout is a pipe: a log
    assert run.code == 0, run.err
    assert metadata_points(run.out)
    assert "" not in run.out.splitlines()

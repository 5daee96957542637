"""Ray: bars of remote tasks reach the driver's status through ``vhtqdm.ray.install()``."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..server import StatusServer
from . import require, run_file

LOOPBACK = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}

JOB = """
import time
import ray
from ray.experimental.tqdm_ray import tqdm
import vhtqdm.ray

vhtqdm.ray.install()
ray.init(address="local", num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1",
         log_to_driver=True)

@ray.remote
def work(i):
    for _ in tqdm(range(6), desc=f"shard{i}", flush_interval_s=0.1):
        time.sleep(0.2)
    return i

print(sum(ray.get([work.remote(i) for i in range(2)])))
time.sleep(2)  # the driver's log monitor relays the last bar states
ray.shutdown()
"""


def run_job(source: str, config_dir: Path, tmp_path: Path) -> str:
    """Run a Ray driver script as a job on loopback; the last line it printed."""
    job = tmp_path / "ray_job.py"
    job.write_text(source)
    run = run_file(job, config_dir, env=LOOPBACK, timeout=240)
    assert run.code == 0, run.err[-3000:]
    return run.out.strip().splitlines()[-1]


@pytest.mark.slow
def test_remote_task_bars_are_mirrored_by_the_driver(
    server: StatusServer, config_dir: Path, tmp_path: Path
) -> None:
    require("ray")
    assert run_job(JOB, config_dir, tmp_path) == "1"
    labels = [g["label"] for p in server.posts for g in p.of_type("gauge")]
    for shard in ("shard0", "shard1"):
        assert any(shard in label for label in labels), labels
    finals = [g for g in server.posts[-1].of_type("gauge") if "shard" in g["label"]]
    assert finals and all(g["value"] == 6 for g in finals)


DATA = """
import time
import ray
import vhtqdm.ray

vhtqdm.ray.install()  # before Ray Data is imported: it is patched when it loads
ray.init(address="local", num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1")

def slow(batch):
    time.sleep(0.2)
    return batch

print(ray.data.range(400, override_num_blocks=8).map_batches(slow).count())
ray.shutdown()
"""


@pytest.mark.slow
def test_ray_data_bars_are_mirrored_though_stdout_is_a_log(
    server: StatusServer, config_dir: Path, tmp_path: Path
) -> None:
    # On a terminal Ray Data draws tqdm bars; into a log (Valohai's, this test's pipe) it would
    # only log its progress, so install() has it draw them there too.
    require("ray.data")
    assert run_job(DATA, config_dir, tmp_path) == "400"
    finals = server.posts[-1].of_type("gauge") if server.posts else []
    rows = [g for g in finals if g["max"] == 400]
    assert rows and rows[0]["value"] == 400 and rows[0]["color"] == "good", finals

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


@pytest.mark.slow
def test_remote_task_bars_are_mirrored_by_the_driver(
    server: StatusServer, config_dir: Path, tmp_path: Path
) -> None:
    require("ray")
    job = tmp_path / "ray_job.py"
    job.write_text(JOB)
    run = run_file(job, config_dir, env=LOOPBACK, timeout=240)
    assert run.code == 0, run.err[-3000:]
    assert run.out.strip().splitlines()[-1] == "1"
    labels = [g["label"] for p in server.posts for g in p.of_type("gauge")]
    for shard in ("shard0", "shard1"):
        assert any(shard in label for label in labels), labels
    finals = [g for g in server.posts[-1].of_type("gauge") if "shard" in g["label"]]
    assert finals and all(g["value"] == 6 for g in finals)

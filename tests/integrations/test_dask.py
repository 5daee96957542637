"""Dask: the local schedulers through ``TqdmCallback``, ``dask.distributed`` futures as a gauge."""

from __future__ import annotations

import io
import time

import pytest

import vhtqdm

from ..server import StatusServer
from . import require


def test_a_local_scheduler_graph_is_one_mirrored_bar(valohai: StatusServer) -> None:
    require("dask")
    import dask

    from vhtqdm.dask import TqdmCallback

    tasks = [dask.delayed(lambda x: x * 2)(i) for i in range(8)]
    with TqdmCallback(desc="graph", file=io.StringIO()):
        (results,) = dask.compute(tasks, scheduler="threads")
    assert sum(results) == 56
    assert vhtqdm.flush(5)
    assert valohai.last is not None
    (gauge,) = valohai.last.of_type("gauge")
    assert gauge["label"].startswith("graph 8/8") and gauge["value"] == 8


@pytest.mark.slow
def test_distributed_futures_are_a_gauge(valohai: StatusServer) -> None:
    require("distributed")
    from distributed import Client, LocalCluster

    from vhtqdm.dask import progress

    def slow(x: int) -> int:
        time.sleep(0.05)
        return x + 1

    # In-process (the inproc:// transport): no worker processes, no dashboard, no port at all.
    cluster = LocalCluster(
        processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None
    )
    with cluster, Client(cluster) as client:
        futures = progress(client.map(slow, range(10)), desc="futures", file=io.StringIO())
        assert sum(client.gather(futures)) == 55
    assert vhtqdm.flush(5)
    assert valohai.last is not None
    (gauge,) = valohai.last.of_type("gauge")
    assert gauge["label"].startswith("futures 10/10") and gauge["color"] == "good"

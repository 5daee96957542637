"""PyTorch DataLoader workers (forked and spawned) never post: the main process posts, with the
workers' bars relayed to it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ..faults.scenarios import free_port
from ..helpers import run_command
from ..server import StatusServer
from . import require, run_file

require("torch")
pytestmark = pytest.mark.slow

JOB = """
import sys

import torch
from torch.utils.data import DataLoader, Dataset

from vhtqdm import tqdm


class Squares(Dataset):
    def __len__(self):
        return 64

    def __getitem__(self, i):
        # A bar inside a worker process (some datasets do this while loading).
        for _ in tqdm(range(2), desc="worker", leave=False):
            pass
        return torch.tensor([float(i * i)])


if __name__ == "__main__":
    loader = DataLoader(
        Squares(), batch_size=8, num_workers=2, multiprocessing_context=sys.argv[1]
    )
    total = 0.0
    for epoch in tqdm(range(2), desc="epoch"):
        bar = tqdm(loader, desc="train", leave=False)
        for batch in bar:
            total += float(batch.sum())
            bar.set_postfix(seen=float(batch.sum()))
    assert total == 2 * sum(i * i for i in range(64)), total
"""


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_dataloader_workers_never_post(
    server: StatusServer, config_dir: Path, tmp_path: Path, method: str
) -> None:
    script = tmp_path / "job.py"
    script.write_text(JOB)
    run = run_file(script, config_dir, method)
    assert run.code == 0, run.err
    assert server.posts, "the main process posted nothing"
    # One poster: every status is the main process's view (its job and epoch gauges first), the
    # workers' bars at most relayed into it, never a worker's own status.
    for post in server.posts:
        labels = [str(g["label"]) for g in post.of_type("gauge")]
        assert labels[0].startswith(("job ", "epoch ")), post.status
    last = server.posts[-1]
    mains = [g for g in last.of_type("gauge") if not str(g["label"]).startswith("worker")]
    assert [g.get("color") for g in mains] == ["good", "good"]
    assert mains[0]["label"].startswith("epoch 2/2")
    assert all(g.get("color") for g in last.of_type("gauge")), "a relayed bar left running"


SPAWN = """
import socket
import time

import torch.distributed as dist
import torch.multiprocessing as mp

from vhtqdm import tqdm


def train(rank, world, port):
    # As torch.multiprocessing.spawn hands it: the rank is an argument, not in the environment.
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world)
    if rank == 0:
        time.sleep(1.0)  # rank 1 shows its bar first, and is the first to be free to claim
    for _ in tqdm(range(30), desc=f"rank{rank}"):
        time.sleep(0.1 if rank == 0 else 0.15)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(train, args=(2, port), nprocs=2)
"""


def test_torch_multiprocessing_spawn_posts_rank_0s_view(
    server: StatusServer, config_dir: Path, tmp_path: Path
) -> None:
    # Every rank draws its bar (none disabled): the initialised process group names rank 0 the
    # poster, rank 1 relays into the ranks line.
    script = tmp_path / "spawn.py"
    script.write_text(SPAWN)
    run = run_file(script, config_dir, timeout=120)
    assert run.code == 0, run.err[-3000:]
    assert server.posts, "no status from the spawned ranks"
    labels = {str(g["label"]).split()[0] for p in server.posts for g in p.of_type("gauge")}
    assert labels == {"rank0"}, labels
    assert server.posts[-1].of_type("gauge")[0]["value"] == 30
    # Rank 0 posts from its bar's start (a spawned child, yet named rank 0 by its process group:
    # no grace period), and the ranks line tells rank 1 while both run.
    steps = [p.of_type("gauge")[0]["value"] for p in server.posts]
    assert steps[0] <= 15, steps
    running = [p for p, n in zip(server.posts, steps) if n < 30]
    assert any(t.startswith("2 ranks \u00b7 ") for p in running for t in p.texts()), steps


DDP = """
import os, time
import torch
import torch.distributed as dist
from vhtqdm import tqdm

dist.init_process_group("gloo")
rank = dist.get_rank()
model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(4, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in tqdm(range(3), desc="epoch"):
    for step in tqdm(range(4), desc="train", leave=False):
        loss = model(torch.randn(8, 4)).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()  # the ranks meet here, step by step
        optimizer.step()
    time.sleep(0.2 if rank == 0 else 0.6)  # rank 1 is slower between epochs
# No barrier at the end: rank 0 leaves first.
"""


def test_a_torchrun_job_ends_with_its_ranks_as_they_ended(
    server: StatusServer, config_dir: Path, tmp_path: Path
) -> None:
    # Fails on the previous code (3 of 3 runs): the final status said "2 ranks · slowest rank 1
    # at 2/3 (-1)" though both ranks had finished 3/3: rank 1 ended after rank 0 had left.
    script = tmp_path / "ddp.py"
    script.write_text(DDP)
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2"]
    run = run_command(
        [*torchrun, "--master_port", str(free_port()), str(script)],
        config_dir,
        timeout=180,
        env={"OMP_NUM_THREADS": "1"},
    )
    assert run.code == 0, run.err[-3000:]
    assert server.last is not None
    assert server.last.texts()[0] == "2 ranks \u00b7 all at 3/3", server.last.status

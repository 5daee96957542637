"""PyTorch DataLoader workers (forked and spawned) never post; the main process's bars do."""

from __future__ import annotations

from pathlib import Path

import pytest

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
    assert not any("worker" in post.status for post in server.posts)
    last = server.posts[-1]
    assert [g.get("color") for g in last.of_type("gauge")] == ["good", "good"]
    assert last.of_type("gauge")[0]["label"].startswith("epoch 2/2")

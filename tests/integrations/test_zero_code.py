"""Zero-code mode with the real libraries: the bars they draw for themselves reach the status,
with nothing of vhtqdm in the job's code (tiny data made here, no download from a hub)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ..helpers import ROOT, run_command
from ..server import StatusServer
from . import require, run_file

pytestmark = pytest.mark.slow

AUTO = {"VHTQDM_AUTO": "1", "HF_HUB_OFFLINE": "1"}


def said(server: StatusServer) -> list[str]:
    """Every gauge label and text line of every status received, in order."""
    return [
        str(e.get("label") or e.get("text") or "")
        for post in server.posts
        for e in post.elements
        if e.get("type") in ("gauge", "text")
    ]


def job(tmp_path: Path, source: str) -> Path:
    path = tmp_path / "job.py"
    path.write_text(source)
    return path


DATASETS = """
import datasets

ds = datasets.Dataset.from_dict({"x": list(range(300))})
ds = ds.map(lambda row: {"y": row["x"] * 2})
ds = ds.filter(lambda row: row["y"] % 3 == 0)
print(len(ds))
"""


def test_datasets_map_and_filter(server: StatusServer, config_dir: Path, tmp_path: Path) -> None:
    require("datasets")
    env = {**AUTO, "HF_DATASETS_CACHE": str(tmp_path / "cache")}
    run = run_file(job(tmp_path, DATASETS), config_dir, env=env)
    assert run.code == 0, run.err[-3000:]
    assert run.out.strip() == "100"
    lines = said(server)
    assert any(line.startswith("Map 300/300") for line in lines), lines
    assert any(line.startswith("Filter 300/300") for line in lines), lines
    assert server.last is not None and server.last.of_type("gauge")[0]["color"] == "good"


HUB = """
from huggingface_hub.utils import tqdm as hf_tqdm

# As huggingface_hub's http_get draws a download: bytes, scaled, its own progress-bar name.
size = 3 * 1024 * 1024
with hf_tqdm(total=size, unit="B", unit_scale=True, unit_divisor=1024, desc="model.safetensors",
             name="huggingface_hub.http_get") as bar:
    for _ in range(size // 65536):
        bar.update(65536)
"""


def test_huggingface_hubs_own_tqdm_class(
    server: StatusServer, config_dir: Path, tmp_path: Path
) -> None:
    require("huggingface_hub")
    run = run_file(job(tmp_path, HUB), config_dir, env=AUTO)
    assert run.code == 0, run.err[-3000:]
    assert server.last is not None
    (gauge,) = server.last.of_type("gauge")
    assert str(gauge["label"]).startswith("model.safetensors 3.00M/3.00MB"), gauge
    assert (gauge["value"], gauge["max"], gauge.get("color")) == (3 * 2**20, 3 * 2**20, "good")


PANDAS = """
import pandas as pd
from tqdm import tqdm

tqdm.pandas(desc="apply")
frame = pd.DataFrame({"x": range(500)})
print(int(frame["x"].progress_apply(lambda v: v * 2).sum()))
"""


def test_tqdm_pandas_progress_apply(server: StatusServer, config_dir: Path, tmp_path: Path) -> None:
    require("pandas")
    run = run_file(job(tmp_path, PANDAS), config_dir, env=AUTO)
    assert run.code == 0, run.err[-3000:]
    assert run.out.strip() == str(2 * sum(range(500)))
    assert server.last is not None
    assert str(server.last.of_type("gauge")[0]["label"]).startswith("apply 500/500")


RICH = """
import warnings
from tqdm import TqdmExperimentalWarning
warnings.simplefilter("ignore", TqdmExperimentalWarning)
from tqdm.rich import trange

for _ in trange(40, desc="rich"):
    pass
"""


def test_tqdm_rich(server: StatusServer, config_dir: Path, tmp_path: Path) -> None:
    require("rich")
    run = run_file(job(tmp_path, RICH), config_dir, env=AUTO)
    assert run.code == 0, run.err[-3000:]
    assert server.last is not None
    assert str(server.last.of_type("gauge")[0]["label"]).startswith("rich 40/40")


TORCHRUN = """
import time

import torch
import torch.distributed as dist
from tqdm.auto import tqdm

dist.init_process_group("gloo")
rank = dist.get_rank()
for _ in tqdm(range(20), desc=f"rank{rank}"):
    total = torch.ones(1)
    dist.all_reduce(total)
    time.sleep(0.05 if rank == 0 else 0.08)
dist.barrier()
dist.destroy_process_group()
"""


def test_torchrun_two_processes_under_vhtqdm_run(
    server: StatusServer, config_dir: Path, tmp_path: Path
) -> None:
    require("torch")
    torchrun = Path(sys.executable).parent / "torchrun"  # torch's console script
    command = [
        sys.executable, "-m", "vhtqdm", "run", "--",
        str(torchrun), "--standalone", "--nproc-per-node", "2", str(job(tmp_path, TORCHRUN)),
    ]  # fmt: skip
    run = run_command(command, config_dir, 180, {"VHTQDM_STATUS_INTERVAL": "0.5"}, raw=True)
    assert run.code == 0, run.err[-3000:]
    assert server.posts, "no status from the ranks"
    # Local rank 0 posts its bar; rank 1 is in the ranks line, never a poster of its own.
    labels = {str(g["label"]).split()[0] for p in server.posts for g in p.of_type("gauge")}
    assert labels == {"rank0"}, labels
    assert any(t.startswith("2 ranks \u00b7 ") for p in server.posts for t in p.texts())
    assert server.posts[-1].of_type("gauge")[0]["value"] == 20


def test_an_adapter_and_zero_code_mode_together_show_each_bar_once(
    server: StatusServer, config_dir: Path
) -> None:
    require("transformers")
    example = ROOT / "examples" / "hf_trainer.py"  # vhtqdm.transformers.install(trainer)

    def final(env: dict[str, str]) -> tuple[list[str], list[int], list[str]]:
        server.posts.clear()
        run = run_file(example, config_dir, env=env)
        assert run.code == 0, run.err[-3000:]
        last = server.posts[-1]
        return (
            [
                f"{str(g['label']).split(' ')[0]} {g['value']}/{g['max']}"
                for g in last.of_type("gauge")
            ],
            [len(s["values"]) for s in last.of_type("sparkline")],
            [t.split(" ")[0] for t in last.texts()],
        )

    assert final(AUTO) == final({"HF_HUB_OFFLINE": "1"})

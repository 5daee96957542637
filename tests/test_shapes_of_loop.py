"""Everyday shapes of loop, each as a real job: what the status says must be true at the end.

Each test failed on the code before the change it pins (bars side by side taken as nested, a
job of 3 000 file bars told as its last four, ranks that ended shown as running, metadata
values never printed, one-element tensors shown as text).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import metadata_points, run_script
from .server import Post, StatusServer

pytestmark = pytest.mark.slow


def test_bars_of_two_threads_run_side_by_side(server: StatusServer, config_dir: Path) -> None:
    run = run_script(
        """
        import threading, time
        from vhtqdm import tqdm
        def work(position, steps, unit_scale):
            for _ in tqdm(range(steps), desc=f"worker{position}", position=position,
                          unit="B", unit_scale=unit_scale, total=steps):
                time.sleep(2.0 / steps)
        threads = [threading.Thread(target=work, args=(0, 20, True)),
                   threading.Thread(target=work, args=(1, 200, False))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        """,
        config_dir,
        env={"VHTQDM_STATUS_INTERVAL": "0.5"},
    )
    assert run.code == 0, run.err
    for post in server.posts:  # no job gauge: neither runs inside the other
        assert not any(str(g["label"]).startswith("job") for g in post.of_type("gauge")), (
            post.status
        )

    def labels(post: Post) -> list[str]:
        return [str(g["label"]) for g in post.of_type("gauge")]

    # Statuses while both run (once the 20-step bar has ended, it is a line of the story).
    both = [p for p in server.posts if sorted(x[:7] for x in labels(p)) == ["worker0", "worker1"]]
    assert both, [p.status for p in server.posts]
    for post in both:
        first, second = post.of_type("gauge")
        assert float(first["value"]) <= 20 and float(second["value"]) <= 200  # each its own
    assert any("B/s" in labels(p)[0] for p in both)  # the rate stays


def test_shards_of_one_kind_are_siblings_not_a_job(server: StatusServer, config_dir: Path) -> None:
    run = run_script(
        """
        import vhtqdm
        from vhtqdm import tqdm
        shards = [tqdm(total=100, desc=f"shard {i}") for i in range(50)]
        for bar in shards:
            bar.update(99)
        vhtqdm.flush(5)
        for bar in shards:
            bar.update(1)
            bar.close()
        """,
        config_dir,
    )
    assert run.code == 0, run.err
    running = [p for p in server.posts if "99/100" in p.status]
    assert running, [p.status for p in server.posts]
    assert not any("job " in p.status for p in running), running[-1].status


def test_many_bars_of_one_kind_are_one_phase(server: StatusServer, config_dir: Path) -> None:
    run = run_script(
        """
        from vhtqdm import tqdm
        for i in range(3000):
            with tqdm(total=2, desc=f"file_{i}.parquet") as bar:
                bar.update(2)
        for _ in tqdm(range(3), desc="train"):
            pass
        """,
        config_dir,
        timeout=120,
    )
    assert run.code == 0, run.err
    assert server.last is not None
    texts = server.last.texts()
    phases = [t for t in texts if t.startswith("file_")]
    assert len(phases) == 1 and phases[0].startswith("file_*.parquet 3000 bars"), texts
    assert phases[0].endswith("done")


def test_ranks_that_ended_after_the_poster_left_its_loop_are_told_as_ended(
    server: StatusServer, config_dir: Path, tmp_path: Path
) -> None:
    # As torchrun starts ranks: siblings, each with its own bars, no barrier at the end; rank 1
    # is slower and ends after rank 0 has left its loop.
    rank = tmp_path / "rank.py"
    rank.write_text(
        "import os, sys, time\n"
        "from vhtqdm import tqdm\n"
        "slow = float(sys.argv[1])\n"
        "for _ in tqdm(range(3), desc='epoch'):\n"
        "    time.sleep(slow)\n"
    )
    run = run_script(
        f"""
        import os, subprocess, sys
        ranks = [subprocess.Popen([sys.executable, {str(rank)!r}, pause],
                                  env=dict(os.environ, LOCAL_RANK=str(i), RANK=str(i)))
                 for i, pause in enumerate(("0.2", "0.45"))]
        for process in ranks:
            process.wait()
        """,
        config_dir,
        timeout=60,
    )
    assert run.code == 0, run.err
    assert server.last is not None
    assert server.last.texts()[0] == "2 ranks \u00b7 all at 3/3", server.last.status


def test_each_workers_bar_is_shown_once(
    server: StatusServer, config_dir: Path, tmp_path: Path
) -> None:
    run = run_script(
        """
        import multiprocessing as mp
        from vhtqdm import tqdm

        def work(i):
            for _ in tqdm(range(200_000), desc=f"w{i}"):
                pass
            return i

        if __name__ == "__main__":
            with mp.get_context("spawn").Pool(8) as pool:
                assert sorted(pool.map(work, range(8))) == list(range(8))
        """,
        config_dir,
        as_file=tmp_path / "job.py",
        timeout=120,
    )
    assert run.code == 0, run.err
    assert server.last is not None
    labels = [str(g["label"]).split()[0] for g in server.last.of_type("gauge")]
    assert len(labels) == len(set(labels)), server.last.status


def test_every_epochs_value_and_every_bars_last_value_reach_the_charts(
    server: StatusServer, config_dir: Path
) -> None:
    run = run_script(
        """
        import time
        from vhtqdm import trange
        epochs = trange(5, desc="epoch")
        for epoch in epochs:
            for step in trange(10, desc="train", leave=False):
                time.sleep(0.03)  # epochs of 0.3 s, the interval is 0.5 s
            epochs.set_postfix(val_acc=0.5 + epoch / 10)
        """,
        config_dir,
        env={"VHTQDM_METADATA": "1", "VHTQDM_STATUS_INTERVAL": "0.5"},
    )
    assert run.code == 0, run.err
    points = metadata_points(run.out)
    accuracy = [p["val_acc"] for p in points if "val_acc" in p]
    assert accuracy == [0.5, 0.6, 0.7, 0.8, 0.9], points


def test_the_last_value_of_a_loop_is_printed_as_its_bar_ends(
    server: StatusServer, config_dir: Path
) -> None:
    run = run_script(
        """
        import time
        from vhtqdm import tqdm
        bar = tqdm(range(120), desc="train")
        for step in bar:
            time.sleep(0.01)
            bar.set_postfix(loss=1 / (step + 1))
        """,
        config_dir,
        env={"VHTQDM_METADATA": "1", "VHTQDM_STATUS_INTERVAL": "0.5"},
    )
    assert run.code == 0, run.err
    points = metadata_points(run.out)
    assert points[-1]["step"] == 119 and points[-1]["loss"] == 1 / 120, points


def test_a_one_element_tensor_is_charted_as_its_number(
    server: StatusServer, config_dir: Path
) -> None:
    run = run_script(
        """
        import vhtqdm
        from vhtqdm import tqdm
        class Tensor:  # torch.tensor([0.89]): one element, one dimension
            shape = (1,)
            ndim = 1
            def __init__(self, value):
                self.value = value
            def item(self):
                return self.value
            def __str__(self):
                return f"tensor([{self.value}])"
        bar = tqdm(total=4, desc="train")
        for i in range(4):
            bar.set_postfix(acc=Tensor(0.8 + i / 100))
            bar.update()
            vhtqdm.flush(5)
        bar.close()
        """,
        config_dir,
    )
    assert run.code == 0, run.err
    assert server.last is not None
    assert "acc 0.83" in server.last.texts()[-1], server.last.status
    (curve,) = server.last.of_type("sparkline")
    assert curve["values"] == [0.8, 0.81, 0.82, 0.83]


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({"VHTQDM_STATUS_INTERVAL": "-5"}, "is not a positive number of seconds: using 5"),
        ({"VHTQDM_STATUS_INTERVAL": "0.1"}, "is below the 0.5 s minimum: using 0.5"),
        ({"VHTQDM_STATUS_INTERVL": "1"}, "(did you mean VHTQDM_STATUS_INTERVAL?)"),
        ({"VHTQDM_SPARKLINES": "los"}, "sparklines names 'los', which no bar reports"),
    ],
)
def test_a_setting_not_used_as_given_is_one_warning(
    env: dict[str, str], said: str, server: StatusServer, config_dir: Path
) -> None:
    run = run_script(
        """
        import vhtqdm
        from vhtqdm import tqdm
        bar = tqdm(total=3, desc="train")
        for i in range(3):
            bar.set_postfix(loss=1.0 / (i + 1))
            bar.update()
            vhtqdm.flush(5)
        bar.close()
        """,
        config_dir,
        env=env,
    )
    assert run.code == 0, run.err
    warnings = [line for line in run.err.splitlines() if line.startswith("vhtqdm:")]
    assert len(warnings) == 1 and said in warnings[0], run.err


def test_a_crash_names_the_bar_it_happened_in(server: StatusServer, config_dir: Path) -> None:
    run = run_script(
        """
        from vhtqdm import tqdm
        for step in tqdm(range(200), desc="train"):
            if step == 57:
                raise RuntimeError("CUDA error")
        """,
        config_dir,
    )
    assert run.code == 1
    assert server.last is not None
    assert server.last.texts()[0] == "Failed at train 57/200: RuntimeError: CUDA error"

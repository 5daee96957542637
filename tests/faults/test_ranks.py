"""Launchers as real jobs: whatever starts the processes, one of them posts and the others relay."""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

import pytest

from ..helpers import gauges, run_script
from ..server import TOKEN, StatusServer

FAST = {"VHTQDM_STATUS_INTERVAL": "0.5"}


@pytest.mark.slow
def test_a_subprocess_with_the_same_environment_relays_to_the_parent(
    server: StatusServer, config_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / "eval.py").write_text(
        "import time\nfrom vhtqdm import tqdm\n"
        "for _ in tqdm(range(12), desc='eval'):\n    time.sleep(0.25)\n"
    )
    run = run_script(
        f"""
        import subprocess, sys
        from vhtqdm import tqdm
        with tqdm(total=2, desc="train") as bar:
            bar.update()
            subprocess.run([sys.executable, {str(tmp_path / "eval.py")!r}], check=True)
            bar.update()
        """,
        config_dir,
        env=FAST,
        timeout=60,
    )
    assert run.code == 0, run.err
    assert server.posts
    # Never alternating: every status is the parent's, and the child's bar shows inside it.
    assert all(gauges(p)[:1] == ["train"] for p in server.posts), [gauges(p) for p in server.posts]
    assert any(gauges(p) == ["train", "eval"] for p in server.posts)
    assert server.posts[-1].of_type("gauge")[0]["value"] == 2


@pytest.mark.slow
def test_the_spawn_pattern_posts_rank_0s_bar(
    server: StatusServer, config_dir: Path, tmp_path: Path
) -> None:
    # torch.multiprocessing.spawn / Lightning's ddp_spawn: the launcher only spawns; rank 0 is a
    # spawned child that learns its rank as an argument, the other ranks hide their bars.
    run = run_script(
        """
        import multiprocessing as mp
        from vhtqdm import tqdm

        def train(rank):
            for _ in tqdm(range(20), desc=f"rank{rank}", disable=rank != 0):
                pass

        if __name__ == "__main__":
            ctx = mp.get_context("spawn")
            procs = [ctx.Process(target=train, args=(rank,)) for rank in range(2)]
            for p in procs:
                p.start()
            for p in procs:
                p.join()
            print([p.exitcode for p in procs])
        """,
        config_dir,
        env=FAST,
        timeout=60,
        as_file=tmp_path / "launch.py",
    )
    assert run.code == 0, run.err
    assert run.out.strip() == "[0, 0]"
    assert server.posts, "rank 0's bar was never posted"
    assert {label for p in server.posts for label in gauges(p)} == {"rank0"}
    assert server.posts[-1].of_type("gauge")[0]["value"] == 20


def test_a_process_whose_bars_are_all_disabled_shows_nothing_and_claims_nothing(
    server: StatusServer, config_dir: Path
) -> None:
    # Fails on the previous code: a bar made with disable=True (Lightning's and the Trainer's
    # on every rank but 0) built the process's mirror: a SIGTERM watcher thread, and at exit a
    # claim and a status. In the spawn pattern above that rank could claim the execution as it
    # exited, so that rank 0's last word was relayed to a process that posted nothing.
    run = run_script(
        """
        import threading
        from vhtqdm import tqdm, trange
        for _ in tqdm(range(3), desc="hidden", disable=True):
            pass
        for _ in trange(3, desc="hidden too", disable=True):
            pass
        print(sorted(t.name for t in threading.enumerate() if t.name.startswith("vhtqdm")))
        raise SystemExit(3)
        """,
        config_dir,
        env=FAST,
    )
    assert run.code == 3, run.err
    assert run.out.strip() == "[]"
    assert server.posts == []


RANK_SCRIPT = """
import os, sys, time
from vhtqdm import tqdm
rank = int(os.environ["LOCAL_RANK"])
with tqdm(total=40, desc=f"train{rank}") as bar:
    for step in range(40):
        time.sleep(0.1 if rank != 2 else 0.2)  # rank 2 is the straggler
        bar.update()
"""


@pytest.mark.slow
def test_local_ranks_compose_into_rank_0s_status_with_the_slowest_rank(
    server: StatusServer, config_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / "rank.py").write_text(RANK_SCRIPT)
    run = run_script(
        f"""
        import os, subprocess, sys
        procs = [
            subprocess.Popen(
                [sys.executable, {str(tmp_path / "rank.py")!r}],
                env={{**os.environ, "LOCAL_RANK": str(rank), "RANK": str(4 + rank)}},
            )
            for rank in range(3)
        ]
        print([p.wait() for p in procs])
        """,
        config_dir,
        env={**FAST, "VH_DIST_MEMBER_INDEX": "1", "VH_DIST_MEMBER_COUNT": "4"},
        timeout=60,
    )
    assert run.code == 0, run.err
    assert run.out.strip() == "[0, 0, 0]"
    assert server.posts
    assert all(gauges(p) == ["train0"] for p in server.posts), [gauges(p) for p in server.posts]
    assert all(p.texts()[0].startswith("member 2/4") for p in server.posts)
    dot, minus = "\u00b7", "\u2212"
    head = f"member 2/4 {dot} 3 ranks {dot} slowest rank 2"
    line = re.compile(rf"{head} at (\d+)/40 \({minus}(\d+)\)")
    found = [m for p in server.posts for m in [line.fullmatch(p.texts()[0])] if m]
    assert found, [p.texts() for p in server.posts]
    assert any(int(m.group(2)) >= 3 for m in found)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("env", "posts"),
    [
        ({"LOCAL_RANK": "1", "RANK": "1"}, False),
        ({"RANK": "2"}, False),
        ({"LOCAL_RANK": "", "RANK": "2"}, False),
        ({"SLURM_PROCID": "3", "SLURM_LOCALID": "1"}, False),
        ({"SLURM_PROCID": "4", "SLURM_LOCALID": "0"}, True),
        ({"OMPI_COMM_WORLD_RANK": "1", "OMPI_COMM_WORLD_LOCAL_RANK": "1"}, False),
        ({"PMI_RANK": "1"}, False),
        ({"LOCAL_RANK": "0", "RANK": "4"}, True),  # first process of another Valohai member
        ({"LOCAL_RANK": "0", "RANK": "0"}, True),
    ],
)
def test_only_the_main_rank_posts(
    env: dict[str, str], posts: bool, server: StatusServer, config_dir: Path
) -> None:
    run = run_script(
        "from vhtqdm import tqdm\nfor i in tqdm(range(3)):\n    pass\n", config_dir, env=env
    )
    assert run.code == 0 and "vhtqdm" not in run.err
    assert (server.attempts > 0) == posts


LOOP = """
import time
from vhtqdm import tqdm
started = time.perf_counter()
for _ in range(300):
    for _ in tqdm(range(200), desc="step", mininterval=0):
        pass
print(time.perf_counter() - started)
"""


@pytest.mark.timing
@pytest.mark.slow
def test_relaying_to_a_stopped_or_absent_claimer_costs_the_loop_nothing(
    server: StatusServer, config_dir: Path
) -> None:
    from vhtqdm import _claim

    # A poster that never reads (stopped, or busy): its socket fills, every send would block.
    address = _claim.address(_claim.key(server.url, {"Authorization": f"Token {TOKEN}"}))
    assert address is not None
    deaf = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    deaf.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    deaf.bind(address)
    try:
        relayed = run_script(LOOP, config_dir, env={"LOCAL_RANK": "1"}, timeout=120)
        deaf.close()
        absent = run_script(LOOP, config_dir, env={"LOCAL_RANK": "1"}, timeout=120)
        plain = run_script(LOOP, config_dir, env={"VHTQDM_DISABLE": "1"}, timeout=120)
    finally:
        deaf.close()
    for run in (relayed, absent, plain):
        assert run.code == 0, run.err
    assert server.attempts == 0  # a relay never posts
    # Generous: the loop runs next to the relay thread on a shared, loaded machine.
    baseline = float(plain.out)
    assert float(relayed.out) < 3 * baseline + 0.5, (relayed.out, plain.out)
    assert float(absent.out) < 3 * baseline + 0.5, (absent.out, plain.out)


@pytest.mark.slow
def test_a_forked_child_that_outlives_the_poster_does_not_keep_its_claim(
    server: StatusServer, config_dir: Path
) -> None:
    first = run_script(
        """
        import os, time
        from vhtqdm import tqdm
        with tqdm(total=1, desc="first") as bar:  # claims the execution
            if os.fork() == 0:
                null = os.open(os.devnull, os.O_WRONLY)
                os.dup2(null, 1), os.dup2(null, 2)  # let the test's run end before the child
                time.sleep(8)  # outlives its parent, holding the inherited descriptors
                os._exit(0)
            bar.update()
        """,
        config_dir,
    )
    assert first.code == 0, first.err
    second = run_script(
        "from vhtqdm import tqdm\nfor _ in tqdm(range(3), desc='second'):\n    pass\n",
        config_dir,
        timeout=20,
    )
    assert second.code == 0, second.err
    assert any(gauges(p) == ["second"] for p in server.posts), [gauges(p) for p in server.posts]


@pytest.mark.slow
def test_a_reset_process_holds_no_claim(valohai: StatusServer) -> None:
    # Fails on the previous code: reset() (the suite's fresh-process fixture) kept the claim of
    # every execution the test process had mirrored, so a later job of the suite whose server
    # was given that port again never posted ("no post at all", at random, on CI).
    import vhtqdm
    from vhtqdm import _process, tqdm

    for _ in tqdm(range(2), desc="here"):
        pass
    assert vhtqdm.flush(5) and valohai.posts  # this process claimed the execution
    _process.reset()
    before = valohai.attempts
    run = run_script(
        "from vhtqdm import tqdm\nfor i in tqdm(range(3), desc='job'):\n    pass\n",
        Path(os.environ["VH_CONFIG_DIR"]),
    )
    assert run.code == 0, run.err
    assert valohai.attempts > before and "job" in valohai.posts[-1].status

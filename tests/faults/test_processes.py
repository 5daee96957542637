"""Forks, workers, threads and many bars: one poster, no leak, no hang (ranks: test_ranks)."""

from __future__ import annotations

import gc
import io
import threading
import time
import tracemalloc
import weakref
from pathlib import Path

import pytest

import vhtqdm
from vhtqdm import _process, tqdm

from ..helpers import gauges, labels, run_script
from ..server import StatusServer


@pytest.mark.slow
def test_a_child_forked_while_the_sender_holds_its_lock_neither_hangs_nor_posts(
    server: StatusServer, config_dir: Path
) -> None:
    run = run_script(
        """
        import os, threading, time
        import vhtqdm
        from vhtqdm import _process, tqdm
        parent = tqdm(total=3, desc="parent")
        vhtqdm.flush(5)
        sender = _process.get().sender
        held, release = threading.Event(), threading.Event()
        def hold():  # the worst moment to fork: the sender's lock is taken
            with sender._cycling:
                held.set()
                release.wait()
        threading.Thread(target=hold, daemon=True).start()
        held.wait()
        pid = os.fork()
        if pid == 0:
            bar = tqdm(range(5), desc="child")
            for i in bar:
                bar.set_postfix(loss=i)
            vhtqdm.set_status("from the child")
            parent.update(1)
            parent.close()
            ok = vhtqdm.flush(1)
            os._exit(0 if ok else 3)
        release.set()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.05)
        else:
            os.kill(pid, 9)
            raise SystemExit("the forked child hung")
        print("child exit", os.waitstatus_to_exitcode(status))
        parent.update(3)
        parent.close()
        """,
        config_dir,
    )
    assert run.code == 0, run.err
    assert run.out.strip() == "child exit 0"
    # The child relays its own bar to the parent; it never posts, nor moves the parent's bar.
    assert all(gauges(p)[:1] == ["parent"] for p in server.posts)
    assert labels(server) <= {"parent", "child"}
    assert server.posts[-1].of_type("gauge")[0]["value"] == 3
    assert all("from the child" not in p.status for p in server.posts)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_multiprocessing_workers_relay_and_never_post(
    method: str, server: StatusServer, config_dir: Path, tmp_path: Path
) -> None:
    run = run_script(
        f"""
        import multiprocessing as mp, time
        from vhtqdm import tqdm

        def work(n):
            for _ in tqdm(range(n), desc="worker"):
                time.sleep(0.1)
            return n

        if __name__ == "__main__":
            with mp.get_context("{method}").Pool(2) as pool:
                results = list(tqdm(pool.imap(work, [3] * 6), total=6, desc="main"))
            print(sum(results))
        """,
        config_dir,
        timeout=60,
        as_file=tmp_path / "job.py",
    )
    assert run.code == 0, run.err
    assert run.out.strip() == "18"
    # Only the main process posts (its bar leads every status); the workers' bars compose in.
    assert all(gauges(p)[:1] == ["main"] for p in server.posts), [gauges(p) for p in server.posts]
    assert labels(server) == {"main", "worker"}
    assert server.posts[-1].of_type("gauge")[0]["value"] == 6


def test_bars_from_many_threads_compose(valohai: StatusServer) -> None:
    start = threading.Barrier(8)

    def work(i: int) -> None:
        start.wait()
        with tqdm(total=50, desc=f"worker{i}", position=i, file=io.StringIO()) as bar:
            for _ in range(50):
                bar.update()
                bar.set_postfix(loss=1.0 / (i + 1))
                time.sleep(0.002)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert vhtqdm.flush(5)
    assert valohai.last is not None
    gauges = valohai.last.of_type("gauge")
    assert [g["label"].split()[0] for g in gauges] == [f"worker{i}" for i in range(6)]
    assert all((g["value"], g["color"]) == (50, "good") for g in gauges)
    assert "+2 more bars" in valohai.last.texts()


def test_thread_map_with_vhtqdm(valohai: StatusServer) -> None:
    from tqdm.contrib.concurrent import thread_map

    results = thread_map(
        lambda x: x * 2, range(100), tqdm_class=tqdm, max_workers=4, file=io.StringIO(), desc="map"
    )
    assert sum(results) == 9900
    assert vhtqdm.flush(5)
    assert valohai.last is not None
    assert valohai.last.of_type("gauge")[0]["value"] == 100


@pytest.mark.slow
def test_a_thousand_short_bars_leak_nothing(valohai: StatusServer) -> None:
    def burst(count: int) -> None:
        for _ in range(count):
            for _ in tqdm(range(3), file=io.StringIO(), status_interval=0.5):
                pass

    burst(50)  # warm up: the mirror, its thread and its session exist
    assert vhtqdm.flush(5)
    threads = threading.active_count()  # ours, tqdm's monitor and the test server's
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    refs = []
    started = time.monotonic()
    for _ in range(1000):
        bar = tqdm(range(3), file=io.StringIO(), status_interval=0.5)
        refs.append(weakref.ref(bar))
        for _ in bar:
            pass
        del bar
    elapsed = time.monotonic() - started
    assert vhtqdm.flush(5)
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    assert threading.active_count() <= threads
    assert [t.name for t in threading.enumerate()].count("vhtqdm-sender") == 1
    assert sum(ref() is not None for ref in refs) == 0
    mirror = _process.get()
    assert mirror is not None and not mirror.record.live()
    assert grown < 512 * 1024, f"{grown} bytes kept after 1000 bars"
    # The throttle held: about two posts per interval, not one per bar.
    assert len(valohai.posts) <= 2 * (elapsed / 0.5) + 6
    import requests

    assert sum(isinstance(o, requests.Session) for o in gc.get_objects()) == 1


@pytest.mark.slow
def test_shutdown_with_a_bar_created_during_exit_neither_hangs_nor_prints(
    server: StatusServer, config_dir: Path
) -> None:
    run = run_script(
        """
        import atexit
        import vhtqdm
        from vhtqdm import tqdm

        def late():  # runs after vhtqdm's own exit hook: the sender cannot start any more
            bar = tqdm(range(3), desc="late")
            for _ in bar:
                bar.set_postfix(loss=0.5)
            vhtqdm.set_status("late")
            vhtqdm.flush(1)

        atexit.register(late)
        for _ in tqdm(range(5), desc="early"):
            pass
        """,
        config_dir,
        timeout=30,
    )
    # (Not combined with a bar left open until shutdown: CPython 3.13.0 itself segfaults when a
    # bar is created in an atexit handler while another is finalized at shutdown, plain tqdm too.)
    assert run.code == 0
    assert "Exception" not in run.err and "Traceback" not in run.err, run.err
    assert run.seconds < 15
    assert labels(server) == {"early", "late"}  # a bar run at exit is delivered too

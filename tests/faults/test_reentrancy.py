"""Re-entrant calls (signal handlers, GC callbacks) and thread trouble never hang or double up."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ..helpers import failing_import_once, run_script
from ..server import Answer, StatusServer

pytestmark = pytest.mark.slow


@pytest.mark.timing
def test_flush_keeps_its_timeout_when_a_signal_handler_outlasts_it(
    server: StatusServer, config_dir: Path
) -> None:
    # Fails on the previous code (CPython 3.9-3.12): flush waited on a SimpleQueue, whose
    # get(timeout) waits for ever once a signal handler returns after the deadline; here until
    # the slow server answered, 3 s later.
    server.answer = Answer(delay=3.0)
    run = run_script(
        """
        import signal, time
        import vhtqdm
        from vhtqdm import tqdm
        bar = tqdm(total=10, desc="train")  # its first post is in flight for 3 s
        signal.signal(signal.SIGALRM, lambda *a: time.sleep(0.3))  # outlasts the flush below
        signal.setitimer(signal.ITIMER_REAL, 0.1)
        started = time.monotonic()
        vhtqdm.flush(0.2)
        print(round(time.monotonic() - started, 2))
        """,
        config_dir,
        env={"VHTQDM_FLUSH_TIMEOUT": "0.2"},
        timeout=30,
    )
    assert run.code == 0, run.err
    assert 0.3 <= float(run.out) < 1.5, run.out


def test_a_signal_handler_calling_set_status_and_flush_never_deadlocks(
    server: StatusServer, config_dir: Path
) -> None:
    # Fails on the previous code: the handler waited on the sender's plain Lock, held by the
    # submit() it interrupted, forever (here: until faulthandler ends the job, with its stacks).
    # The handler's flush does not wait (flush(0)): a handler that outlasts the 5 ms timer runs
    # nested in itself without end, which is the program's livelock, not vhtqdm's (a waiting
    # flush in a handler: the first test).
    try:
        run = run_script(
            """
            import faulthandler, signal, threading, time
            faulthandler.dump_traceback_later(30, exit=True)
            import vhtqdm
            from vhtqdm import tqdm
            calls = 0
            def handler(signum, frame):
                global calls
                calls += 1
                vhtqdm.set_status(f"tick {calls}")
                vhtqdm.flush(0)
            signal.signal(signal.SIGALRM, handler)
            signal.setitimer(signal.ITIMER_REAL, 0.005, 0.005)
            deadline = time.monotonic() + 3
            bars = 0
            while time.monotonic() < deadline:
                for _ in tqdm(range(3), desc="short", status_interval=0.5, mininterval=0):
                    vhtqdm.set_status("step")
                bars += 1
            signal.setitimer(signal.ITIMER_REAL, 0)
            senders = [t for t in threading.enumerate() if t.name == "vhtqdm-sender"]
            print(bars > 10, calls > 10, len(senders))
            """,
            config_dir,
            timeout=40,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("a signal handler calling vhtqdm deadlocked the job")
    assert run.code == 0, run.err[-4000:]
    assert run.out.split() == ["True", "True", "1"], run.err
    assert server.posts


def test_a_nested_submit_while_the_thread_starts_starts_no_second_thread(
    server: StatusServer, config_dir: Path
) -> None:
    # Fails on the previous code: the GC callback's set_status re-entered the start (an RLock)
    # before the first thread was recorded, and started a second sender thread.
    run = run_script(
        """
        import gc, sys, threading
        import vhtqdm
        from vhtqdm import tqdm
        def starting_the_sender():
            frame = sys._getframe(1)
            while frame is not None:
                if frame.f_code.co_filename.endswith("_sender.py"):
                    return True
                frame = frame.f_back
            return False
        def during_gc(phase, info):  # a collection while vhtqdm's sender thread is being started
            if phase == "start" and starting_the_sender():
                vhtqdm.set_status("from a GC callback")
        gc.callbacks.append(during_gc)
        gc.set_threshold(1)  # every allocation may collect: Thread() itself triggers it
        bar = tqdm(total=3, desc="train")
        gc.set_threshold(700)
        gc.callbacks.remove(during_gc)
        bar.update(3)
        bar.close()
        vhtqdm.flush(5)
        print(sum(t.name == "vhtqdm-sender" for t in threading.enumerate()))
        """,
        config_dir,
    )
    assert run.code == 0, run.err
    assert run.out.strip() == "1"


def test_a_first_set_up_that_fails_in_an_import_is_tried_once_more(
    server: StatusServer, config_dir: Path
) -> None:
    # Fails on the previous code: one failed import while the process set its mirror up (seen in
    # CI on 3.9 as "status mirroring is off (AttributeError)", with a signal handler calling
    # vhtqdm every 5 ms, as a module was half imported) turned mirroring off for the whole job.
    # A set-up that fails unexpectedly is tried once more a second later; only then is it off.
    run = run_script(
        failing_import_once("vhtqdm._mirror")
        + textwrap.dedent(
            """
        import time
        import vhtqdm
        from vhtqdm import tqdm

        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:
            for _ in tqdm(range(5), desc="short", status_interval=0.5):
                time.sleep(0.02)
        print(vhtqdm.flush(5))
        """
        ),
        config_dir,
        timeout=30,
    )
    assert run.code == 0, run.err
    assert "mirroring is off" not in run.err, run.err
    assert run.out.split() == ["True"], run.err
    assert server.posts, "mirroring stayed off after one failed import"


def test_a_failed_import_on_the_sender_thread_is_tried_again_not_a_lost_status(
    server: StatusServer, config_dir: Path
) -> None:
    # Fails on the previous code (seen in CI on 3.9, under load, with a signal handler calling
    # vhtqdm every 5 ms): the sender thread's import of requests met a module the main thread
    # was still importing ("partially initialized module 'tempfile'"), after the process had
    # claimed the execution; the next try found the claim taken, by itself, and the process
    # relayed to its own listener for the rest of the job: no status at all. Here the import
    # fails once, as it did there.
    run = run_script(
        failing_import_once("requests", thread="vhtqdm-sender")
        + textwrap.dedent(
            """
        import time
        import vhtqdm
        from vhtqdm import tqdm

        for _ in tqdm(range(20), desc="train", status_interval=0.5):
            time.sleep(0.1)
        print(vhtqdm.flush(5))
        """
        ),
        config_dir,
        timeout=30,
    )
    assert run.code == 0, run.err
    assert run.out.split() == ["True"], run.err
    assert server.posts, "the process relayed to itself: nothing was posted"
    assert len(server.posts) >= 3  # live while it ran, not only its last word
    assert server.last is not None and server.last.of_type("gauge")[0]["value"] == 20


@pytest.mark.skipif(
    sys.version_info[:3] == (3, 13, 0),
    reason="CPython 3.13.0 segfaults (signal 11) running this pure-Python script",
)
def test_a_passing_thread_limit_does_not_turn_mirroring_off(
    server: StatusServer, config_dir: Path
) -> None:
    # Fails on the previous code: one "can't start new thread" latched live mirroring off.
    run = run_script(
        """
        import threading, time
        import vhtqdm
        from vhtqdm import tqdm
        # The container's thread limit, for the first thread start only (the OS boundary).
        name = "_start_joinable_thread" if hasattr(threading, "_start_joinable_thread") \\
            else "_start_new_thread"
        real = getattr(threading, name)
        def refuse_once(run, *args, **kwargs):  # only vhtqdm's thread (tqdm starts its own)
            if getattr(getattr(run, "__self__", None), "name", "") != "vhtqdm-sender":
                return real(run, *args, **kwargs)
            setattr(threading, name, real)
            raise RuntimeError("can't start new thread")
        setattr(threading, name, refuse_once)
        bar = tqdm(total=10, desc="train", status_interval=0.5)
        time.sleep(1.2)  # the limit passes
        bar.update(5)
        vhtqdm.set_status("later")  # a later change starts the thread after all
        time.sleep(1.5)
        alive = any(t.name == "vhtqdm-sender" for t in threading.enumerate())
        print(alive, flush=True)
        time.sleep(0.2)
        """,
        config_dir,
    )
    assert run.code == 0, run.err
    assert run.out.strip() == "True"
    live = [p for p in server.posts if "later" in p.status]
    assert live, "nothing was posted while the job ran"


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="importlib's lock wait is re-entrant")
def test_a_handler_calling_vhtqdm_inside_an_imports_lock_wait_leaves_that_import_whole(
    server: StatusServer, config_dir: Path
) -> None:
    # Fails on the previous code (it broke a CI run on 3.9 once): a signal handler that runs
    # while its thread waits for an import's module lock (CPython 3.9-3.11) and calls vhtqdm
    # first made vhtqdm import its parts there; that nested import removed the interrupted
    # one's entry in importlib's _blocking_on, and the program's import raised KeyError. The
    # handler's moment is made here without a race: the entry the wait would hold is put in.
    run = run_script(
        """
        import threading, _frozen_importlib
        import vhtqdm
        marker = object()
        me = threading.get_ident()
        _frozen_importlib._blocking_on[me] = marker  # as in _ModuleLock.acquire's wait
        vhtqdm.set_status("from the handler")
        vhtqdm.flush(0)
        print(_frozen_importlib._blocking_on.get(me) is marker)
        del _frozen_importlib._blocking_on[me]
        vhtqdm.set_status("after the import")  # then vhtqdm mirrors as usual
        print(vhtqdm.flush(5))
        """,
        config_dir,
    )
    assert run.code == 0, run.err
    assert run.out.split() == ["True", "True"], run.err
    assert server.last is not None and "after the import" in server.last.status

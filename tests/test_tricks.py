"""Every trick of ``_tricks`` pinned to what it reads, on the CPython and tqdm under test.

Each test fails when a new tqdm or CPython changes what a trick relies on, so that the guard's
fallback is then chosen knowingly (``nox -s lowest`` runs them on the oldest tqdm declared).
"""

from __future__ import annotations

import http.client
import io
import sys
import threading
import types

import pytest
from tqdm.std import tqdm as std_tqdm
from urllib3.connection import HTTPConnection

from vhtqdm import _tricks

from .helpers import run_script


def test_tqdms_file_and_disable_arguments_are_where_the_positions_say() -> None:
    file, disable = _tricks.tqdm_argument_index("file"), _tricks.tqdm_argument_index("disable")
    assert (file, disable) == (4, 10)  # tqdm(iterable, desc, total, leave, file, …, disable)
    args = [None] * 11
    args[file], args[disable] = io.StringIO(), True
    bar = std_tqdm(*args)
    assert bar.disable is True
    assert _tricks.tqdm_argument(tuple(args), {}, "disable", False) is True
    assert _tricks.tqdm_argument((range(3),), {"disable": None}, "disable", False) is None
    assert _tricks.tqdm_argument((range(3),), {}, "disable", False) is False
    assert _tricks.tqdm_argument_index("no-such-argument") is None


def test_a_for_loops_true_count_is_read_while_tqdm_has_not_written_it() -> None:
    bar = std_tqdm(range(100), file=io.StringIO(), mininterval=3600, miniters=10**9)
    iterator = iter(bar)
    seen = []
    for i, _ in enumerate(iterator):
        if i == 41:
            seen.append((bar.n, _tricks.loop_count(bar, iterator)))
            break
    assert seen == [(0, 41)]  # bar.n is stale; the loop's own count is exact
    assert _tricks.loop_count(bar, None) == bar.n  # no loop: the bar's count


def test_tqdms_smoothed_rate_is_read() -> None:
    clock = iter(float(t) for t in range(1, 100))
    bar = std_tqdm(total=100, file=io.StringIO(), mininterval=0, miniters=1)
    bar._time = lambda: next(clock)  # tqdm's own clock seam, from the start of the bar
    bar.start_t = bar.last_print_t = 0.0
    for _ in range(5):
        bar.update(2)
    rate = _tricks.tqdm_rate(bar)
    assert rate is not None and 1.0 < rate < 3.0  # 2 units per tick of the fake clock
    assert _tricks.tqdm_rate(object()) is None  # not a tqdm: the caller's fallback


def test_a_hidden_bar_holds_no_line_of_the_screen() -> None:
    bar = std_tqdm(total=3, file=io.StringIO())
    assert bar in std_tqdm._instances
    _tricks.hide_bar(bar)
    assert bar not in std_tqdm._instances and bar.nrows == sys.maxsize
    bar.close()


@pytest.mark.parametrize("threading_first", [True, False], ids=["threading imported", "late"])
def test_an_atexit_handler_knows_the_program_has_ended(threading_first: bool) -> None:
    run = run_script(
        f"""
        import atexit, sys
        if {threading_first}:
            import threading
        def late():
            from vhtqdm import _tricks
            print("in atexit", _tricks.interpreter_exiting())
        atexit.register(late)
        from vhtqdm import _tricks  # (imports threading either way: only the order differs)
        print("in the program", _tricks.interpreter_exiting())
        """
        if threading_first
        else """
        import atexit
        def late():
            from vhtqdm import _tricks  # the first import of threading is this late
            print("in atexit", _tricks.interpreter_exiting())
        atexit.register(late)
        print("in the program", False)
        """,
        None,
    )
    assert run.out.splitlines() == ["in the program False", "in atexit True"], run.err


def test_an_uncaught_ctrl_c_still_exits_by_sigint_after_an_exec_at_exit() -> None:
    run = run_script(
        """
        import atexit
        def at_exit():
            exec("x = 1")  # what a namedtuple or dataclass made at exit does
            from vhtqdm import _tricks
            _tricks.keep_sigint_exit()
        atexit.register(at_exit)
        raise KeyboardInterrupt
        """,
        None,
    )
    assert run.code in (-2, 130), (run.code, run.err)


def test_two_threads_swapping_a_module_global_leave_the_original() -> None:
    module = types.ModuleType("framework")
    module.Bar = "original"  # type: ignore[attr-defined]
    inside, release = threading.Event(), threading.Event()

    def hold() -> None:
        with _tricks.swapped(module, "Bar", "ours"):
            inside.set()
            release.wait(5)

    other = threading.Thread(target=hold)
    other.start()
    assert inside.wait(5)
    with _tricks.swapped(module, "Bar", "ours"):
        release.set()
        other.join(5)  # the first one out does not restore while this one is inside
        assert module.Bar == "ours"  # type: ignore[attr-defined]
    assert module.Bar == "original"  # type: ignore[attr-defined]


def test_a_bounded_connection_never_prints_a_request() -> None:
    bounded = _tricks.bounded_connection(HTTPConnection)
    connection = bounded("127.0.0.1", 9)
    connection.set_debuglevel(1)
    connection.debuglevel = 2
    assert connection.debuglevel == 0
    assert http.client.HTTPConnection.debuglevel == 0  # (the recipe sets this; not we)


def test_no_green_threads_here() -> None:
    assert _tricks.green_threads() is False


def test_an_imports_lock_wait_is_seen_where_importlib_keeps_it() -> None:
    import _frozen_importlib  # the bootstrap importlib runs (importlib._bootstrap is a copy)

    assert not _tricks.waiting_for_import()
    if sys.version_info >= (3, 12):
        assert not isinstance(_frozen_importlib._blocking_on, dict)  # re-entrant: no need
        return
    assert isinstance(_frozen_importlib._blocking_on, dict)
    _frozen_importlib._blocking_on[threading.get_ident()] = object()  # what acquire() holds
    try:
        assert _tricks.waiting_for_import()
    finally:
        del _frozen_importlib._blocking_on[threading.get_ident()]

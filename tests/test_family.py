"""The tqdm family as vhtqdm modules, and every way a bar's state changes, seen by the status."""

from __future__ import annotations

import asyncio
import io
import logging
import pickle
import sys
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable

import pytest
import tqdm as tqdm_package
import tqdm.asyncio
import tqdm.auto
import tqdm.contrib

import vhtqdm
import vhtqdm.asyncio
import vhtqdm.auto
import vhtqdm.autonotebook
import vhtqdm.contrib
import vhtqdm.contrib.concurrent
import vhtqdm.contrib.itertools
import vhtqdm.contrib.logging
from vhtqdm import tqdm as vh_tqdm

from .helpers import Run, quiet, run_script
from .server import StatusServer


def run_raw(source: str, config_dir: Path | None, env: dict[str, str] | None = None) -> Run:
    """``run_script`` keeping carriage returns."""
    return run_script(source, config_dir, timeout=60, env=env, raw=True)


def gauge(server: StatusServer, desc: str) -> dict[str, Any]:
    """The gauge of the bar described ``desc`` in the latest status."""
    assert server.last is not None, "nothing was posted"
    found = [g for g in server.last.of_type("gauge") if g["label"].startswith(desc + " ")]
    assert found, server.last.status
    return found[0]


def metrics(server: StatusServer) -> dict[str, str]:
    """``{"loss": "0.5"}`` from the latest status's metric text lines."""
    assert server.last is not None
    shown = [item for line in server.last.texts() for item in line.split(" \u00b7 ")]
    return dict(item.split(" ", 1) for item in shown)


# -- the modules ---------------------------------------------------------------------------------


def test_each_flavour_is_a_vhtqdm_bar_of_that_flavour() -> None:
    assert issubclass(vhtqdm.auto.tqdm, vh_tqdm)
    assert issubclass(vhtqdm.auto.tqdm, tqdm.auto.tqdm)  # what tqdm.auto is to tqdm.tqdm
    assert issubclass(vhtqdm.asyncio.tqdm, tqdm.asyncio.tqdm_asyncio)
    assert vhtqdm.autonotebook.tqdm is vh_tqdm  # not in Jupyter: the text bar, as tqdm picks
    for module in (vhtqdm.auto, vhtqdm.asyncio, vhtqdm.autonotebook):
        bar = module.trange(3, **quiet())
        assert isinstance(bar, vh_tqdm) and list(bar) == [0, 1, 2]


def test_flavour_classes_pickle_by_reference_as_process_map_needs() -> None:
    for cls in (vh_tqdm, vhtqdm.auto.tqdm, vhtqdm.asyncio.tqdm):
        assert pickle.loads(pickle.dumps(cls)) is cls
        assert pickle.loads(pickle.dumps(cls.set_lock)).__self__ is cls


def test_a_mixin_over_a_widget_flavour_leaves_log_mode_out() -> None:
    class Widget(tqdm_package.tqdm):  # draws no text: its own display() with extra arguments
        def display(self, msg: Any = None, pos: Any = None, bar_style: Any = None) -> None:
            pass

    class Mirrored(vh_tqdm, Widget):
        pass

    class Text(vh_tqdm, tqdm.asyncio.tqdm_asyncio):
        pass

    assert vh_tqdm._vh_text and Text._vh_text and not Mirrored._vh_text
    bar = Mirrored(total=2, file=io.StringIO())
    bar.display(bar_style="danger")  # the widget's own arguments pass through
    bar.close()


# -- every way a bar's state changes reaches the status -------------------------------------------


def _update(bar: Any) -> None:
    bar.update(7)


def _assign_and_refresh(bar: Any) -> None:
    bar.n = 7  # how Lightning and Keras move their bars
    bar.refresh()


def _reset(bar: Any) -> None:
    bar.update(3)
    bar.reset(total=20)  # reused for the next epoch
    bar.update(7)


STATE_CHANGES: dict[str, Callable[[Any], None]] = {
    "update": _update,
    "n = x; refresh()": _assign_and_refresh,
    "reset(total=...)": _reset,
}


@pytest.mark.parametrize("change", STATE_CHANGES.values(), ids=list(STATE_CHANGES))
def test_every_way_of_moving_a_bar_is_mirrored(
    valohai: StatusServer, change: Callable[[Any], None]
) -> None:
    bar = vh_tqdm(total=10, desc="train", **quiet())
    change(bar)
    assert vhtqdm.flush(5)
    assert gauge(valohai, "train")["value"] == 7
    bar.close()


def test_reset_with_a_new_total_and_set_description_are_mirrored(valohai: StatusServer) -> None:
    bar = vh_tqdm(total=10, desc="epoch 0", **quiet())
    bar.update(10)
    bar.reset(total=30)
    bar.set_description("epoch 1")
    bar.update(4)
    assert vhtqdm.flush(5)
    assert (gauge(valohai, "epoch 1")["value"], gauge(valohai, "epoch 1")["max"]) == (4, 30)
    bar.close()


def test_iteration_is_mirrored_while_it_runs(valohai: StatusServer) -> None:
    bar = vh_tqdm(range(1000), desc="train", status_interval=0.5, **quiet())
    for i in bar:
        if i == 500:
            time.sleep(0.2)  # tqdm syncs ``n`` when it draws (every mininterval)
            assert vhtqdm.flush(5)
            assert gauge(valohai, "train")["value"] >= 400
    assert vhtqdm.flush(5)
    assert gauge(valohai, "train")["value"] == 1000


POSTFIX_FORMS: dict[str, Callable[[Any], None]] = {
    "kwargs": lambda bar: bar.set_postfix(loss=0.25, acc=0.5),
    "dict": lambda bar: bar.set_postfix({"loss": 0.25, "acc": 0.5}),
    "pairs": lambda bar: bar.set_postfix([("loss", 0.25), ("acc", 0.5)]),
    "keras positional": lambda bar: bar.set_postfix(OrderedDict(loss=0.25, acc=0.5), False),
    "dict and kwargs": lambda bar: bar.set_postfix({"loss": 0.25}, acc=0.5),
}


@pytest.mark.parametrize("form", POSTFIX_FORMS.values(), ids=list(POSTFIX_FORMS))
def test_every_form_of_set_postfix_is_mirrored(
    valohai: StatusServer, form: Callable[[Any], None]
) -> None:
    bar = vh_tqdm(total=10, **quiet())
    form(bar)
    assert vhtqdm.flush(5)
    shown = metrics(valohai)
    assert (shown["loss"], shown["acc"]) == ("0.25", "0.5")
    bar.close()


# -- asyncio -------------------------------------------------------------------------------------


def test_async_iteration_gather_and_as_completed_are_mirrored(valohai: StatusServer) -> None:
    async def work(i: int) -> int:
        await asyncio.sleep(0.001 * (i % 3))
        return i

    async def numbers(n: int) -> Any:
        for i in range(n):
            yield i

    async def aiter() -> list[int]:
        return [i async for i in vhtqdm.asyncio.tqdm(numbers(5), total=5, desc="aiter", **quiet())]

    async def gather() -> list[int]:
        return await vhtqdm.asyncio.tqdm.gather(
            *(work(i) for i in range(6)), desc="gather", **quiet()
        )

    async def completed() -> list[int]:
        futures = [work(i) for i in range(4)]
        return [await f for f in vhtqdm.asyncio.tqdm.as_completed(futures, desc="done", **quiet())]

    for run, desc, expected in (
        (aiter, "aiter", list(range(5))),
        (gather, "gather", list(range(6))),
        (completed, "done", list(range(4))),
    ):
        assert sorted(asyncio.run(run())) == expected
        assert vhtqdm.flush(5)
        assert gauge(valohai, desc)["value"] == len(expected)
        assert gauge(valohai, desc)["color"] == "good"


# -- contrib -------------------------------------------------------------------------------------


def test_contrib_helpers_default_to_mirrored_bars(valohai: StatusServer) -> None:
    kw = quiet()
    assert list(vhtqdm.contrib.tenumerate("abc", desc="enum", **kw)) == [
        (0, "a"),
        (1, "b"),
        (2, "c"),
    ]
    assert vhtqdm.flush(5)
    assert gauge(valohai, "enum")["value"] == 3
    assert list(vhtqdm.contrib.tzip("ab", "xy", desc="zip", **quiet())) == [("a", "x"), ("b", "y")]
    assert vhtqdm.flush(5)
    assert gauge(valohai, "zip")["color"] == "good"
    assert list(vhtqdm.contrib.tmap(str.upper, "ab", desc="map", **quiet())) == ["A", "B"]
    grid = list(vhtqdm.contrib.itertools.product([1, 2], "xy", desc="grid", **quiet()))
    assert len(grid) == 4
    assert vhtqdm.flush(5)
    assert (gauge(valohai, "grid")["value"], gauge(valohai, "grid")["max"]) == (4, 4)


def test_contrib_helpers_keep_an_explicit_tqdm_class(valohai: StatusServer) -> None:
    pairs = list(vhtqdm.contrib.tenumerate("ab", 1, None, tqdm_package.tqdm, file=io.StringIO()))
    assert pairs == [(1, "a"), (2, "b")]  # tqdm_class given positionally: plain tqdm, no status
    assert vhtqdm.flush(1)
    assert valohai.posts == []


def test_thread_map_is_mirrored(valohai: StatusServer) -> None:
    out = vhtqdm.contrib.concurrent.thread_map(
        lambda x: x * 2, range(20), max_workers=4, desc="threads", **quiet()
    )
    assert out == [x * 2 for x in range(20)]
    assert vhtqdm.flush(5)
    assert (gauge(valohai, "threads")["value"], gauge(valohai, "threads")["color"]) == (20, "good")


PROCESS_MAP = """
    import io, multiprocessing, sys
    from vhtqdm import tqdm
    from vhtqdm.contrib.concurrent import process_map

    def work(x):
        for _ in tqdm(range(3), desc="worker", file=io.StringIO()):  # a bar inside a worker
            pass
        return x * x

    if __name__ == "__main__":
        multiprocessing.set_start_method(sys.argv[1])  # before tqdm makes its lock in it
        out = process_map(work, range(8), max_workers=2, desc="pool", file=io.StringIO())
        assert out == [x * x for x in range(8)], out
"""


@pytest.mark.slow
@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_process_map_is_mirrored_and_workers_never_post(
    server: StatusServer, config_dir: Path, tmp_path: Path, method: str
) -> None:
    script = tmp_path / "job.py"
    script.write_text(PROCESS_MAP.replace("\n    ", "\n"))
    run = run_script(
        f"import runpy, sys; sys.argv = ['job.py', {method!r}]; "
        f"runpy.run_path({str(script)!r}, run_name='__main__')",
        config_dir,
        timeout=120,
    )
    assert run.code == 0, run.err
    assert server.last is not None
    pool = server.last.of_type("gauge")[0]  # the workers' bars compose in after it (issue 11)
    assert pool["label"].startswith("pool 8/8") and pool["color"] == "good"
    assert all(post.of_type("gauge")[0]["label"].startswith("pool") for post in server.posts)


def test_logging_redirect_writes_through_vhtqdm_bars(valohai: StatusServer) -> None:
    out = io.StringIO()
    logger = logging.getLogger("vhtqdm.test.redirect")
    logger.addHandler(logging.StreamHandler(out))
    logger.propagate = False
    try:
        with vhtqdm.contrib.logging.tqdm_logging_redirect(
            total=2, desc="logged", loggers=[logger], file=out, mininterval=0
        ) as bar:
            assert isinstance(bar, vh_tqdm)
            logger.warning("halfway")
            bar.update(2)
        with vhtqdm.contrib.logging.logging_redirect_tqdm([logger]):
            logger.warning("after")
    finally:
        logger.handlers.clear()
    assert "halfway\n" in out.getvalue() and "after\n" in out.getvalue()
    assert vhtqdm.flush(5)
    assert gauge(valohai, "logged")["color"] == "good"


# -- disable=None, log mode, metadata -------------------------------------------------------------

DISABLE_NONE = """
    from vhtqdm import tqdm
    bar = tqdm(range(200), desc="auto", disable=None)  # stderr is a pipe: tqdm hides the bar
    for i in bar:
        if i % 50 == 0:
            bar.set_postfix(loss=1 / (i + 1))
"""


@pytest.mark.slow
def test_disable_none_off_a_terminal_prints_nothing_but_is_mirrored(
    server: StatusServer, config_dir: Path
) -> None:
    run = run_script(DISABLE_NONE, config_dir)
    assert run.code == 0, run.err
    assert run.err == "" and run.out == ""
    assert server.last is not None
    assert server.last.of_type("gauge")[0]["label"].startswith("auto 200/200")
    assert any(t.startswith("loss 0.006623 ") for t in server.last.texts())  # 1 / 151


@pytest.mark.slow
def test_disable_none_off_valohai_is_tqdms_auto_disable(server: StatusServer) -> None:
    run = run_script(DISABLE_NONE, None)
    assert (run.code, run.err, run.out) == (0, "", "")


LOG_JOB = """
    import sys, time
    from vhtqdm import tqdm
    with tqdm(total=40, desc="train", {where}) as bar:
        for i in range(40):
            time.sleep(0.025)
            bar.update()
            bar.set_postfix(loss=1 / (i + 1), refresh=False)
    print("done", flush=True)
"""


@pytest.mark.slow
@pytest.mark.parametrize("where", ["", "file=sys.stdout"])
def test_log_mode_prints_plain_lines_at_most_every_log_interval(
    server: StatusServer, config_dir: Path, where: str
) -> None:
    run = run_raw(LOG_JOB.format(where=where), config_dir, env={"VHTQDM_LOG_INTERVAL": "0.3"})
    assert run.code == 0, run.err
    log = run.out if where else run.err
    assert "\r" not in log and "\x1b" not in log
    lines = [line for line in log.splitlines() if line.startswith("train:")]
    # About 1 s of work (longer on a busy machine): a line per 0.3 s at most, and the last.
    assert 2 <= len(lines) <= run.seconds / 0.3 + 1, lines
    assert lines[-1].startswith("train: 100%") and "40/40" in lines[-1]
    assert "loss=" in lines[-1]
    assert server.last is not None and server.last.of_type("gauge")[0]["value"] == 40


@pytest.mark.slow
def test_log_mode_default_interval_leaves_just_the_final_line(
    server: StatusServer, config_dir: Path
) -> None:
    run = run_raw(LOG_JOB.format(where=""), config_dir)
    assert run.code == 0, run.err
    assert run.err.count("\n") == 1 and run.err.startswith("train: 100%")


@pytest.mark.slow
def test_log_mode_prints_each_round_of_a_reused_bar(server: StatusServer, config_dir: Path) -> None:
    run = run_raw(
        """
        from vhtqdm import tqdm
        bar = tqdm(total=5, desc="batches", leave=False)
        for epoch in range(3):
            bar.reset(total=5)
            bar.update(5)
        bar.close()
        """,
        config_dir,
    )
    assert run.code == 0, run.err
    assert run.err.count("batches: 100%") == 3 and "\r" not in run.err


@pytest.mark.slow
@pytest.mark.parametrize(
    ("env", "where"),
    [({"VHTQDM_LOG_INTERVAL": "0"}, ""), ({}, "file=open('/dev/stderr', 'w')")],
    ids=["log_interval=0", "another file"],
)
def test_outside_log_mode_the_bar_draws_as_tqdm_does(
    server: StatusServer, config_dir: Path, env: dict[str, str], where: str
) -> None:
    run = run_raw(LOG_JOB.format(where=where), config_dir, env=env)
    assert run.code == 0, run.err
    assert run.err.count("\r") > 2  # tqdm's carriage-return redraws
    assert server.last is not None and server.last.of_type("gauge")[0]["value"] == 40


@pytest.mark.slow
def test_off_valohai_there_is_no_log_mode(server: StatusServer) -> None:
    run = run_raw(LOG_JOB.format(where=""), None, env={"VHTQDM_LOG_INTERVAL": "0.3"})
    assert run.code == 0 and run.err.count("\r") > 2


METADATA_JOB = """
    import sys, threading, time
    from vhtqdm import tqdm

    def chatter():  # another thread writing lines while the bar prints metadata: whole lines,
        # as print() writes a line's text and its newline apart (anything may land between)
        for i in range(300):
            sys.stdout.write(f"chatter line {{i}} " + "x" * 60 + "\\n")
            time.sleep(0.002)

    thread = threading.Thread(target=chatter)
    thread.start()
    bar = tqdm(total=60, desc="train", status_interval=0.5, {options})
    for i in range(60):
        time.sleep(0.02)
        bar.update()
        bar.set_postfix(loss=1 / (i + 1), phase="warmup", refresh=False)
    bar.set_postfix({{"val_loss": 0.5}})
    bar.close()
    thread.join()
"""


@pytest.mark.slow
def test_metadata_lines_carry_the_step_and_values_at_most_once_per_interval(
    server: StatusServer, config_dir: Path
) -> None:
    import json

    run = run_script(
        METADATA_JOB.format(options="metadata=True"), config_dir, env={"VHTQDM_LOG_INTERVAL": "0"}
    )
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    points = [json.loads(line) for line in lines if line.startswith("{")]
    other = [line for line in lines if line and not line.startswith("{")]
    assert other == [f"chatter line {i} " + "x" * 60 for i in range(300)]  # nothing torn
    train = [p for p in points if "loss" in p]
    # >= 1.2 s of steps, 0.5 s apart, and the bar's last values as it closes
    assert 3 <= len(train) <= run.seconds / 0.5 + 2, train
    assert train[0] == {"step": 1, "loss": 1.0}  # strings ("phase") are not metadata
    assert all(a["step"] < b["step"] for a, b in zip(train, train[1:]))
    assert train[-1] == {"step": 60, "loss": 1 / 60, "val_loss": 0.5}  # nothing left unprinted


@pytest.mark.slow
def test_metadata_is_opt_in(server: StatusServer, config_dir: Path) -> None:
    quiet_run = run_script(METADATA_JOB.format(options=""), config_dir)
    assert quiet_run.code == 0 and "{" not in quiet_run.out
    env_run = run_script(METADATA_JOB.format(options=""), config_dir, env={"VHTQDM_METADATA": "1"})
    assert env_run.code == 0 and '"loss":1.0' in env_run.out
    off_valohai = run_script(METADATA_JOB.format(options="metadata=True"), None)
    assert off_valohai.code == 0 and "{" not in off_valohai.out


def test_bad_log_interval_warns_once_and_uses_the_default(
    valohai: StatusServer, caplog: pytest.LogCaptureFixture
) -> None:
    bar = vh_tqdm(total=1, log_interval="soon", file=sys.stderr)  # pytest's: not a terminal
    bar.close()
    assert "log_interval" in caplog.text and "'soon'" in caplog.text


@pytest.mark.slow
def test_log_lines_metadata_and_writes_share_stdout_line_by_line(
    server: StatusServer, config_dir: Path
) -> None:
    import json

    run = run_raw(
        """
        import sys, time
        from vhtqdm import tqdm
        bar = tqdm(total=30, desc="fit", file=sys.stdout, metadata=True, log_interval=0.2,
                   status_interval=0.5)
        for i in range(30):
            time.sleep(0.02)
            bar.update()
            bar.set_postfix(loss=1 / (i + 1), refresh=False)
            if i == 10:
                tqdm.write("checkpoint saved")
        bar.close()
        """,
        config_dir,
    )
    assert run.code == 0, run.err
    assert "\r" not in run.out and run.err == ""
    lines = [line for line in run.out.split("\n") if line]
    assert "checkpoint saved" in lines
    assert any(line.startswith("fit: 100%") for line in lines[-2:])
    assert json.loads([line for line in lines if line.startswith("{")][-1])["step"] == 30
    for line in lines:
        assert line.startswith(("fit:", "checkpoint saved")) or "step" in json.loads(line)


def test_a_sparkline_window_keyword_out_of_range_warns(
    valohai: StatusServer, caplog: pytest.LogCaptureFixture
) -> None:
    # The previous code clamped 1000 to 200 in silence.
    vh_tqdm(total=1, sparkline_window=1000, **quiet()).close()
    assert "sparkline_window" in caplog.text and "1000" in caplog.text


def test_help_renders_without_control_characters() -> None:
    import pydoc

    for thing in (vhtqdm, vh_tqdm):
        text = pydoc.render_doc(thing, renderer=pydoc.plaintext)
        assert "\r" not in text  # a literal carriage return in a docstring garbled help()

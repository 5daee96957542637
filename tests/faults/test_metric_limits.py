"""Postfix values cost the loop what tqdm's cost, and what is kept of them stays bounded."""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Any

import pytest
from tqdm.std import tqdm as std_tqdm

import vhtqdm
from vhtqdm import tqdm

from ..helpers import run_script
from ..server import Answer, StatusServer

MANY_KEYS = """
    import io, tracemalloc, vhtqdm
    from vhtqdm import tqdm

    bar = tqdm(total=10, file=io.StringIO(), status_interval=60)
    bar.update()
    vhtqdm.flush(5)
    bar.set_postfix(warm=0.5, refresh=False)  # the first call allocates tqdm's own caches
    tracemalloc.start()
    for i in range(100_000):
        bar.set_postfix(refresh=False, **{"k%d" % i: 0.5})
        bar.set_postfix({"d%d" % i: 0.5}, refresh=False)
    print(tracemalloc.get_traced_memory()[0])
"""


@pytest.mark.slow
@pytest.mark.parametrize("code", [200, 401], ids=["healthy", "token-refused"])
def test_distinct_postfix_keys_keep_memory_bounded(
    server: StatusServer, config_dir: Path, code: int
) -> None:
    # 200,000 distinct keys: a cap enforced only when a status is composed (every interval,
    # never once a 401 stopped the sender) let every one of them pile up.
    server.answer = Answer(code=code)
    run = run_script(MANY_KEYS, config_dir, timeout=120)
    assert run.code == 0, run.err
    held = int(run.out.split()[-1])
    assert held < 1_000_000, f"{held} bytes still held after 200,000 distinct keys"


class Counting:
    """A 0-d tensor look-alike that counts, per thread, how often it is read."""

    ndim = 0

    def __init__(self, item: bool = True) -> None:
        self.reads: list[tuple[str, str]] = []
        if not item:
            self.item = None  # type: ignore[assignment]  # a plain object: text only

    def item(self) -> float:
        self.reads.append(("item", threading.current_thread().name))
        return 0.5

    def __str__(self) -> str:
        self.reads.append(("str", threading.current_thread().name))
        return "tensor(0.5)"

    def on_main(self, kind: str) -> int:
        return sum(1 for k, t in self.reads if k == kind and t == "MainThread")


def feed(cls: Any, value: Counting, as_dict: bool) -> None:
    bar = cls(total=200, file=io.StringIO())
    for _ in range(100):
        if as_dict:
            bar.set_postfix({"loss": value}, refresh=False)
        else:
            bar.set_postfix(loss=value, refresh=False)
        bar.update()
    bar.close()


@pytest.mark.parametrize("as_dict", [False, True], ids=["kwargs", "dict"])
@pytest.mark.parametrize("item", [True, False], ids=["0-d", "text"])
def test_odd_values_are_read_on_the_loop_no_more_than_tqdm_reads_them(
    valohai: StatusServer, as_dict: bool, item: bool
) -> None:
    ours, theirs = Counting(item), Counting(item)
    feed(tqdm, ours, as_dict)
    feed(std_tqdm, theirs, as_dict)
    assert vhtqdm.flush(5)
    assert ours.on_main("str") == theirs.on_main("str") == 100
    assert ours.on_main("item") == theirs.on_main("item") == 0  # no .item() (no device sync)
    assert valohai.last is not None
    texts = valohai.last.texts()
    # Converted on the sender thread: a number when it has .item(), else its text.
    assert any(t.startswith("loss 0.5") for t in texts) if item else "loss tensor(0.5)" in texts

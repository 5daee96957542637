"""vhtqdm draws exactly what tqdm draws, mirrored or not."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import struct
import subprocess
import sys
import termios
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tqdm.std import tqdm as std_tqdm

import vhtqdm
from vhtqdm import tqdm

from .helpers import job_env
from .server import StatusServer

FORMAT = "{desc}{percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt}{postfix}"  # no clock in it


def session(cls: type, **kwargs: Any) -> str:
    """The same sequence of calls on a bar of ``cls``; returns what it wrote."""
    out = io.StringIO()
    bar = cls(total=20, file=out, bar_format=FORMAT, mininterval=0, ncols=80, **kwargs)
    for i in range(20):
        bar.update()
        if i % 3 == 0:
            bar.set_postfix(loss=1 / (i + 1), step=i, tag="x")
        if i % 5 == 0:
            bar.set_description(f"epoch {i}")
        if i == 7:
            bar.set_postfix(OrderedDict(acc=0.5), lr=1e-3)
        if i == 9:
            bar.set_postfix_str("free text")
            bar.reset(total=30)
        if i == 11:
            bar.n = 15  # how Lightning moves its bars
            bar.refresh()
    bar.write("a line above the bar", file=out)
    bar.close()
    return out.getvalue()


@pytest.mark.parametrize("mirrored", [False, True], ids=["off-valohai", "mirrored"])
def test_terminal_output_is_byte_for_byte_tqdm(
    mirrored: bool, request: pytest.FixtureRequest
) -> None:
    if mirrored:
        request.getfixturevalue("valohai")
    assert session(tqdm) == session(std_tqdm)
    assert session(tqdm, leave=False, ascii=True) == session(std_tqdm, leave=False, ascii=True)


def test_trange_and_iteration_match(valohai: StatusServer) -> None:
    def run(make: Callable[..., Any]) -> tuple[str, list[int]]:
        out = io.StringIO()
        seen = list(make(5, file=out, bar_format=FORMAT, mininterval=0))
        return out.getvalue(), seen

    assert run(vhtqdm.trange) == run(lambda n, **kw: std_tqdm(range(n), **kw))


values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.booleans(),
    st.text(max_size=20),
    st.none(),
    st.lists(st.integers(), max_size=3),
    st.decimals(allow_nan=False, allow_infinity=False, places=3),
)
keys = st.text(alphabet=st.characters(categories=["L", "N"]), min_size=1, max_size=8).filter(
    lambda key: key != "refresh"  # set_postfix's own argument, not a postfix key
)


@pytest.mark.slow
@pytest.mark.parametrize("mirrored", [False, True], ids=["off-valohai", "mirrored"])
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(kwargs=st.dictionaries(keys, values, max_size=5))
def test_set_postfix_builds_tqdms_exact_text(
    mirrored: bool, kwargs: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    if mirrored:
        request.getfixturevalue("valohai")
    ours = tqdm(total=1, file=io.StringIO())
    theirs = std_tqdm(total=1, file=io.StringIO())
    assert (ours._vh is not None) == mirrored
    ours.set_postfix(refresh=False, **kwargs)
    theirs.set_postfix(refresh=False, **kwargs)
    assert ours.postfix == theirs.postfix
    ours.close()
    theirs.close()


def test_set_postfix_accepts_every_form_tqdm_accepts(valohai: StatusServer) -> None:
    for call in (
        lambda bar: bar.set_postfix({"loss": 0.5}, refresh=False),  # Keras: positional dict
        lambda bar: bar.set_postfix([("loss", 0.5), ("acc", 0.9)]),  # pairs
        lambda bar: bar.set_postfix(iter([("loss", 0.5)])),  # a one-shot iterator of pairs
        lambda bar: bar.set_postfix(OrderedDict(b=1), a=2),  # both
    ):
        ours, theirs = tqdm(total=1, file=io.StringIO()), std_tqdm(total=1, file=io.StringIO())
        call(ours)
        call(theirs)
        assert ours.postfix == theirs.postfix
        ours.close()
        theirs.close()


def test_set_postfix_raises_what_tqdm_raises() -> None:
    class Broken:
        def __str__(self) -> str:
            raise RuntimeError("no text")

    for cls in (tqdm, std_tqdm):
        bar = cls(total=1, file=io.StringIO())
        with pytest.raises(RuntimeError, match="no text") as raised:
            bar.set_postfix(x=Broken())
        assert raised.value.__context__ is None  # tqdm's error alone, not chained to another
        bar.close()


def test_extra_keywords_are_not_passed_to_tqdm() -> None:
    bar = tqdm(
        total=1,
        file=io.StringIO(),
        status=False,
        status_interval=1,
        sparklines=["a"],
        sparkline_window=10,
    )
    bar.close()
    with pytest.raises(Exception, match="Unknown argument"):
        tqdm(total=1, file=io.StringIO(), not_an_option=1)


NESTED = """
import sys
from {module} import tqdm
FORMAT = "{{desc}} {{n}}/{{total}}"  # no clock in it
for epoch in tqdm(range(2), desc="epoch", disable=None, bar_format=FORMAT):  # stderr: a file
    for step in tqdm(range(3), desc="step", file=sys.stdout, bar_format=FORMAT, mininterval=0):
        pass
"""


def terminal_bytes(module: str, config_dir: Path | None, tmp_path: Path) -> bytes:
    """What a job writes to its terminal stdout, its stderr going to a file (a common setup)."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))  # 80x24
    with open(tmp_path / f"stderr-{module}", "wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-c", NESTED.format(module=module)],
            stdout=follower,
            stderr=stderr,
            env=job_env(config_dir, {"TERM": "xterm"}),
        )
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: the job ended and closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    assert proc.wait(timeout=30) == 0
    return seen


@pytest.mark.slow
def test_a_hidden_bar_takes_no_screen_line(
    server: StatusServer, config_dir: Path, tmp_path: Path
) -> None:
    # The outer bar is hidden (disable=None, stderr not a terminal) but mirrored; it took screen
    # line 0, so the previous code drew the inner bar one line down (newlines, cursor-ups).
    theirs = terminal_bytes("tqdm", None, tmp_path)
    assert b"step 3/3" in theirs
    assert terminal_bytes("vhtqdm", config_dir, tmp_path) == theirs
    assert terminal_bytes("vhtqdm", None, tmp_path) == theirs
    assert server.last is not None and "epoch 2/2" in server.last.status  # it still counted

"""tqdm's own class instrumented (``vhtqdm._instrument``): pinned to the tqdm versions tested,
given back exactly, and every flavour and helper of tqdm reaching the status through it."""

from __future__ import annotations

import asyncio
import inspect
import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import tqdm
import tqdm.asyncio
import tqdm.auto
import tqdm.autonotebook
import tqdm.contrib
import tqdm.contrib.concurrent
import tqdm.contrib.itertools
import tqdm.contrib.logging
import tqdm.std

import vhtqdm
import vhtqdm.asyncio
import vhtqdm.auto
from vhtqdm import _instrument

from ..server import StatusServer
from . import labels

STD = tqdm.std.tqdm


class DefinedBefore(tqdm.auto.tqdm):  # type: ignore[misc]  # as a library does at its import
    """A library's subclass, defined before tqdm's class is instrumented."""

    def __init__(self, *args: Any, name: str | None = None, **kwargs: Any) -> None:
        self.name = name
        super().__init__(*args, **kwargs)


def quiet(**kwargs: Any) -> dict[str, Any]:
    return {"file": io.StringIO(), "mininterval": 0, **kwargs}


def state(cls: type) -> dict[str, object]:
    return dict(vars(cls))


@pytest.fixture
def instrumented() -> Iterator[None]:
    assert _instrument.install()
    try:
        yield
    finally:
        _instrument.uninstall()


def gauges(server: StatusServer) -> dict[str, dict[str, Any]]:
    """The latest status's gauges by their bar's description."""
    assert server.last is not None, "nothing was posted"
    return {str(g["label"]).split(" ")[0]: g for g in server.last.of_type("gauge")}


def test_the_installed_tqdm_can_be_instrumented() -> None:
    # Pinned: every tqdm the suites run (the newest in `tests`, 4.66 in `lowest`) must pass.
    assert _instrument.unsupported() is None, tqdm.__version__


def test_uninstall_gives_tqdms_class_back_exactly() -> None:
    before = state(STD)
    looks = {
        name: (inspect.signature(method), method.__name__, method.__doc__)
        for name in _instrument.METHODS
        for method in [getattr(STD, name)]
    }
    assert _instrument.install() and _instrument.installed()
    try:
        assert state(STD) != before
        for name, look in looks.items():  # help() and tqdm's argument lookups see tqdm's
            method = getattr(STD, name)
            assert (inspect.signature(method), method.__name__, method.__doc__) == look, name
        assert _instrument.install()  # idempotent
    finally:
        _instrument.uninstall()
    assert not _instrument.installed()
    after = state(STD)
    assert after.keys() == before.keys()
    assert all(after[k] is before[k] for k in before)


def test_a_tqdm_that_differs_is_left_alone_with_one_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def set_postfix(self: Any, values: Any = None) -> None:
        """A future tqdm's set_postfix, of another shape."""

    monkeypatch.setattr(STD, "set_postfix", set_postfix)
    before = state(STD)
    with caplog.at_level(logging.WARNING, logger="vhtqdm"):
        assert not _instrument.install()
        assert not _instrument.install()
    assert state(STD) == before and not _instrument.installed()
    warnings = [r.getMessage() for r in caplog.records if r.name == "vhtqdm"]
    assert warnings == ["vhtqdm: zero-code mode is off: tqdm.std.tqdm.set_postfix takes (values)"]


async def _gathered() -> list[int]:
    async def one(i: int) -> int:
        await asyncio.sleep(0)
        return i

    return list(
        await tqdm.asyncio.tqdm.gather(*(one(i) for i in range(10)), desc="gather", **quiet())
    )


def _logging_redirect() -> None:
    with tqdm.contrib.logging.tqdm_logging_redirect(total=8, desc="logging", **quiet()) as bar:
        bar.update(8)


# Each way a program or a library makes a tqdm bar: (desc, count, how).
FLAVOURS: dict[str, tuple[str, int, Any]] = {
    "tqdm.tqdm": ("tqdm", 3, lambda: list(tqdm.tqdm(range(3), desc="tqdm", **quiet()))),
    "tqdm.trange": ("trange", 4, lambda: list(tqdm.trange(4, desc="trange", **quiet()))),
    "tqdm.std.tqdm": ("std", 3, lambda: list(STD(range(3), desc="std", **quiet()))),
    "tqdm.auto.trange": ("auto", 5, lambda: list(tqdm.auto.trange(5, desc="auto", **quiet()))),
    "tqdm.autonotebook.tqdm": (
        "autonotebook",
        6,
        lambda: list(tqdm.autonotebook.tqdm(range(6), desc="autonotebook", **quiet())),
    ),
    "tqdm.asyncio gather": ("gather", 10, lambda: asyncio.run(_gathered())),
    "tqdm.contrib.tenumerate": (
        "tenumerate",
        2,
        lambda: list(tqdm.contrib.tenumerate("ab", desc="tenumerate", **quiet())),
    ),
    "tqdm.contrib.tzip": (
        "tzip",
        3,
        lambda: list(tqdm.contrib.tzip("abc", "xyz", desc="tzip", **quiet())),
    ),
    "tqdm.contrib.tmap": (
        "tmap",
        4,
        lambda: list(tqdm.contrib.tmap(str.upper, "abcd", desc="tmap", **quiet())),
    ),
    "tqdm.contrib.itertools.product": (
        "product",
        6,
        lambda: list(tqdm.contrib.itertools.product([1, 2], "xyz", desc="product", **quiet())),
    ),
    "tqdm.contrib.concurrent.thread_map": (
        "thread_map",
        7,
        lambda: tqdm.contrib.concurrent.thread_map(
            abs, range(7), max_workers=2, desc="thread_map", **quiet()
        ),
    ),
    "tqdm.contrib.logging": ("logging", 8, _logging_redirect),
    "a subclass defined before": (
        "subclass",
        9,
        lambda: list(DefinedBefore(range(9), name="hub", desc="subclass", **quiet())),
    ),
}


@pytest.mark.usefixtures("instrumented")
@pytest.mark.parametrize("flavour", FLAVOURS.values(), ids=list(FLAVOURS))
def test_every_flavour_and_helper_of_tqdm_is_mirrored(
    valohai: StatusServer, flavour: tuple[str, int, Any]
) -> None:
    desc, count, make = flavour
    make()
    assert vhtqdm.flush(5)
    shown = gauges(valohai)[desc]
    assert (shown["value"], shown["max"], shown.get("color")) == (count, count, "good")


@pytest.mark.usefixtures("instrumented")
@pytest.mark.parametrize(
    "values",
    [
        {"loss": 0.25, "acc": 1},
        {"loss": float("nan"), "lr": 1e-4, "note": "warm", "flag": True, "none": None},
        {"big": 10**400},
    ],
    ids=["numbers", "odd values", "an int beyond float"],
)
def test_a_plain_bars_postfix_is_tqdms_own_text(valohai: StatusServer, values: Any) -> None:
    def postfix(bar: Any) -> tuple[str, str | None]:
        try:
            bar.set_postfix(**values)
        except Exception as exc:
            return "", type(exc).__name__
        return bar.postfix, None

    mirrored = STD(total=3, **quiet())
    assert mirrored._vh is not None
    ours = postfix(mirrored)
    mirrored.close()
    _instrument.uninstall()
    plain = STD(total=3, **quiet())
    theirs = postfix(plain)
    plain.close()
    assert ours == theirs


OWN = {
    "vhtqdm.tqdm": vhtqdm.tqdm,
    "vhtqdm.auto.tqdm": vhtqdm.auto.tqdm,
    "vhtqdm.asyncio.tqdm": vhtqdm.asyncio.tqdm,
}


@pytest.mark.usefixtures("instrumented")
@pytest.mark.parametrize("own_class", OWN.values(), ids=list(OWN))
def test_a_vhtqdm_bar_and_a_plain_one_are_each_recorded_once(
    valohai: StatusServer, own_class: Any
) -> None:
    own = own_class(total=10, desc="own", **quiet())
    plain = tqdm.auto.tqdm(total=10, desc="plain", **quiet())
    hidden = own_class(total=10, desc="hidden", status=False, **quiet())
    for i in range(10):
        for bar, key in ((own, "a"), (plain, "b"), (hidden, "c")):
            bar.update()
            bar.set_postfix({key: float(i)})  # the dict form: tqdm's set_postfix records nothing
            bar.set_postfix(**{key: float(i)}, refresh=False)
    assert vhtqdm.flush(5)
    assert valohai.last is not None
    # Two bars, nested: the job, then each bar's one gauge.
    assert [label.split(" ")[0] for label in labels(valohai.last)] == ["job", "own", "plain"]
    # 20 reports each (dict and keywords, 10 steps): 20 points, not 40 as if noted twice.
    assert [len(s["values"]) for s in valohai.last.of_type("sparkline")] == [20, 20]
    for bar in (own, plain, hidden):
        bar.close()


@pytest.mark.usefixtures("instrumented")
def test_an_exception_leaving_a_plain_bars_with_is_told(valohai: StatusServer) -> None:
    with pytest.raises(ValueError), tqdm.tqdm(total=10, desc="train", **quiet()) as bar:
        bar.update(3)
        raise ValueError("bad batch")
    assert vhtqdm.flush(5)
    assert valohai.last is not None
    assert gauges(valohai)["train"]["color"] == "bad"


@pytest.mark.usefixtures("instrumented")
def test_off_valohai_an_instrumented_bar_records_nothing(server: StatusServer) -> None:
    bar = tqdm.tqdm(range(3), **quiet())
    assert bar._vh is None
    for _ in bar:
        bar.set_postfix(loss=1.0)
    assert vhtqdm.flush(1)
    assert server.posts == []

"""How a bar ends inside its ``with``: an exit or an early close is not a failure, and a failure
keeps nothing of the failing frame alive."""

from __future__ import annotations

import gc
import io
import weakref
from pathlib import Path

import pytest
from tqdm.std import tqdm as std_tqdm

from vhtqdm import tqdm

from ..helpers import run_script
from ..server import StatusServer


def final(server: StatusServer) -> tuple[dict[str, object], list[str]]:
    """The last status's one gauge and its text lines."""
    assert server.last is not None
    (gauge,) = server.last.of_type("gauge")
    return gauge, server.last.texts()


# The outcome is under test, not the exit's time bound: a loaded machine may take a while to
# import requests on the sender thread before the first post.
PATIENT = {"VHTQDM_FLUSH_TIMEOUT": "10"}


@pytest.mark.slow
@pytest.mark.parametrize("code", [0, 3])
def test_sys_exit_inside_with_is_an_exit_not_a_failure(
    code: int, server: StatusServer, config_dir: Path
) -> None:
    run = run_script(
        f"""
        import sys
        from vhtqdm import tqdm
        with tqdm(total=10, desc="train") as bar:
            bar.update(4)
            sys.exit({code})  # early stopping
        """,
        config_dir,
        env=PATIENT,
    )
    assert run.code == code and "Traceback" not in run.err
    gauge, texts = final(server)
    assert gauge["color"] == "warn"  # closed early: the previous code said "bad"
    assert str(gauge["label"]).startswith("train 4/10")
    assert str(gauge["label"]).endswith(" \u00b7 exit 3") == (code == 3)
    assert not any(text.startswith("Failed") for text in texts)


@pytest.mark.slow
def test_a_generator_closed_early_closes_its_bar_early(
    server: StatusServer, config_dir: Path
) -> None:
    run = run_script(
        """
        from vhtqdm import tqdm
        def batches():
            with tqdm(total=10, desc="train") as bar:
                for i in range(10):
                    bar.update()
                    yield i
        source = batches()
        for i in source:
            if i == 2:
                break
        source.close()  # GeneratorExit inside the bar's `with`
        print("done")
        """,
        config_dir,
        env=PATIENT,
    )
    assert run.code == 0 and run.out == "done\n"
    gauge, texts = final(server)
    assert gauge["color"] == "warn" and str(gauge["label"]).startswith("train 3/10")
    assert not any(text.startswith("Failed") for text in texts)


class Batch:
    """Stands for a step's 100 MiB of tensors."""


def failing_step(cls: type, refs: list[weakref.ref[Batch]]) -> None:
    batch = Batch()
    refs.append(weakref.ref(batch))
    with cls(total=10, file=io.StringIO()) as bar:
        bar.update(3)
        raise RuntimeError("CUDA out of memory")


@pytest.mark.parametrize("cls", [tqdm, std_tqdm], ids=["vhtqdm", "tqdm"])
def test_a_failed_bar_keeps_nothing_of_the_failing_frame(cls: type, valohai: StatusServer) -> None:
    refs: list[weakref.ref[Batch]] = []
    gc.disable()  # only reference counting frees: what a job between two GC runs sees
    try:
        for _ in range(3):  # the OOM retry loop
            try:  # noqa: SIM105  (the user's own retry code, as written in the wild)
                failing_step(cls, refs)
            except RuntimeError:
                pass
        alive = [ref() is not None for ref in refs]
    finally:
        gc.enable()
    assert alive == [False, False, False]  # the previous code held all three
    if cls is tqdm:  # the status still tells the failure
        assert valohai.wait_for(lambda posts: bool(posts) and '"bad"' in posts[-1].status)
        gauge, _texts = final(valohai)
        assert gauge["color"] == "bad" and str(gauge["label"]).startswith("3/10")

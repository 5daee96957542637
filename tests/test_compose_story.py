"""The run's story in the composer: the job gauge, a stall, earlier phases, a SIGTERM stop."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vhtqdm._compose import compose
from vhtqdm._limits import MAX_PHASES
from vhtqdm._views import (
    COMPLETE,
    EARLY,
    INTERRUPTED,
    RUNNING,
    STOPPED,
    BarView,
    Ending,
    Job,
    Stall,
)

from .helpers import lines

EPOCH = BarView("epoch", n=1, total=3, rate=0.001, elapsed=4680.0)
TRAIN = BarView("train", n=412, total=1875, rate=3.3, elapsed=120.0)


def test_the_job_gauge_opens_the_status_from_0_to_1() -> None:
    job = Job(fraction=0.37, elapsed=4680.0, eta=8045.0)
    first, epoch, train = lines(compose([EPOCH, TRAIN], job=job))
    assert first == {
        "type": "gauge",
        "value": 0.37,
        "min": 0,
        "max": 1,
        "label": "job 37% \u00b7 ETA 2:14:05 \u00b7 elapsed 1:18:00",
    }
    # The epoch gauge moves with the job and carries its ETA, not its own once-per-epoch rate.
    assert epoch["value"] == 1.11 and epoch["max"] == 3
    assert epoch["label"] == "epoch 1/3 \u00b7 ETA 2:14:05"
    assert str(train["label"]).startswith("train 412/1875 \u00b7 3.30it/s \u00b7 ETA ")


def test_a_stall_is_warn_and_hides_rates_and_etas() -> None:
    job = Job(fraction=0.37, elapsed=4680.0, eta=8045.0)
    status = lines(compose([EPOCH, TRAIN], job=job, stall=Stall(360.0, 0.3)))
    assert status[0]["label"] == "job 37% \u00b7 stalled \u00b7 elapsed 1:18:00"
    assert status[0]["color"] == "warn"
    assert status[1] == {
        "type": "text",
        "text": "stalled for 6 min at train 412/1875 (usual step 0.3 s)",
        "color": "warn",
    }
    assert status[2]["label"] == "epoch 1/3"
    assert status[3]["label"] == "train 412/1875"  # no rate, no ETA while nothing moves


def test_stall_lengths_read_at_a_glance() -> None:
    def text(seconds: float, step: float | None) -> object:
        return lines(compose([TRAIN], stall=Stall(seconds, step)))[0]["text"]

    assert text(42.4, None) == "stalled for 42 s at train 412/1875"
    assert text(7500.0, 90.0) == "stalled for 2 h 05 min at train 412/1875 (usual step 1 min)"


def test_earlier_phases_keep_a_line_each_newest_kept() -> None:
    phases = [
        BarView(f"phase{i}", n=10, total=10, rate=2.0, elapsed=5.0, outcome=COMPLETE)
        for i in range(MAX_PHASES + 2)
    ] + [BarView("eval", n=3, total=8, rate=1.0, elapsed=3.0, outcome=EARLY)]
    status = lines(compose([BarView("test", n=5, total=8)], phases=phases))
    texts = [e for e in status if e["type"] == "text"]
    assert len(texts) == MAX_PHASES
    assert texts[-2] == {
        "type": "text",
        "text": f"phase{MAX_PHASES + 1} 10/10 \u00b7 2.00it/s \u00b7 in 00:05 \u00b7 done",
        "color": "good",
    }
    assert texts[-1]["text"] == "eval 3/8 \u00b7 1.00it/s \u00b7 in 00:03 \u00b7 closed early"
    assert texts[-1]["color"] == "warn"
    assert status[-1]["type"] == "gauge"  # the running bar comes after the story so far


def test_stopped_names_the_innermost_unfinished_bar() -> None:
    bars = [
        BarView("epoch", n=1, total=3, outcome=INTERRUPTED),
        BarView("train", n=412, total=1875, outcome=INTERRUPTED),
    ]
    first = lines(compose(bars, ending=Ending(STOPPED)))[0]
    assert first == {"type": "text", "text": "Stopped at train 412/1875", "color": "warn"}
    assert lines(compose([], ending=Ending(STOPPED)))[0]["text"] == "Stopped"


numbers = st.one_of(
    st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers(-(10**40), 10**40)
)
views = st.builds(
    BarView,
    desc=st.text(max_size=3000),
    n=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-(10**40), 10**40)),
    total=numbers,
    rate=numbers,
    elapsed=st.floats(allow_nan=True, allow_infinity=True),
    outcome=st.sampled_from([RUNNING, COMPLETE, EARLY, INTERRUPTED]),
)
floats = st.floats(allow_nan=True, allow_infinity=True)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(
    bars=st.lists(views, max_size=8),
    phases=st.lists(views, max_size=12),
    job=st.one_of(st.none(), st.builds(Job, floats, floats, st.one_of(st.none(), floats))),
    stall=st.one_of(st.none(), st.builds(Stall, floats, st.one_of(st.none(), floats))),
    stopped=st.booleans(),
)
def test_any_story_gives_a_small_status_of_valid_elements(
    bars, phases, job, stall, stopped
) -> None:
    status = compose(
        bars, ending=Ending(STOPPED) if stopped else None, job=job, stall=stall, phases=phases
    )
    assert len(status.encode()) <= 16_000
    for line in status.split("\n") if status else []:
        assert line.isascii() and line.isprintable()
        element = json.loads(line, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
        if element["type"] == "gauge":
            assert element["min"] <= element["value"] <= element["max"]
            assert all(math.isfinite(element[k]) for k in ("value", "min", "max"))

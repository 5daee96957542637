"""The composer: plain data in, a small status of valid single-line JSON elements out."""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tqdm.std import tqdm as _std

from vhtqdm._compose import bar_label, compose, gauge_line, sparkline_line
from vhtqdm._limits import MAX_BARS
from vhtqdm._record import error_text
from vhtqdm._text import clean
from vhtqdm._views import (
    COMPLETE,
    EARLY,
    FAILED,
    INTERRUPTED,
    RUNNING,
    BarView,
    Ending,
    MetricView,
    Milestone,
)

from .helpers import lines

OUTCOMES = [RUNNING, COMPLETE, EARLY, FAILED, INTERRUPTED]


def test_label_has_desc_counts_speed_and_eta() -> None:
    bar = BarView(desc="train: ", n=412, total=1875, rate=38.2)
    assert bar_label(bar) == "train 412/1875 \u00b7 38.20it/s \u00b7 ETA 00:38"


def test_label_for_slow_bars_uses_seconds_per_unit() -> None:
    assert bar_label(BarView(n=3, total=10, rate=0.25, unit="epoch")) == (
        "3/10 epoch \u00b7 4.00s/epoch \u00b7 ETA 00:28"
    )


def test_label_of_a_finished_bar_gives_the_time_taken() -> None:
    bar = BarView(desc="train", n=10, total=10, rate=2.0, elapsed=65, outcome=COMPLETE)
    assert bar_label(bar) == "train 10/10 \u00b7 2.00it/s \u00b7 in 01:05"


def test_numeric_unit_scale_multiplies_like_tqdm() -> None:
    assert bar_label(BarView(n=2, total=4, unit_scale=0.5, unit="kg")) == "1.0/2.0 kg"


def test_unit_scale_1_is_si_scaling_as_in_tqdm() -> None:
    # tqdm treats unit_scale=1 as True; the previous code showed raw counts.
    assert bar_label(BarView(n=1500, total=3000, unit_scale=1)) == "1.50k/3.00k"


def test_a_slow_scaled_rate_is_inverted_as_in_tqdm() -> None:
    # tqdm shows 2.00s/B; the previous code showed 0.50B/s.
    label = bar_label(BarView(n=3, total=10, rate=0.5, unit="B", unit_scale=True))
    assert label == "3.00/10.0B \u00b7 2.00s/B \u00b7 ETA 00:14"


def test_an_ended_bar_says_what_ended_it() -> None:
    bar = BarView(n=4, total=10, elapsed=3, outcome=EARLY, detail="exit 3")
    assert bar_label(bar) == "4/10 \u00b7 in 00:03 \u00b7 exit 3"


# tqdm's default meter: ``…| n_fmt/total_fmt [elapsed<remaining, rate_fmt]`` or, with no total,
# ``n_fmt{unit} [elapsed, rate_fmt]``.
METER = re.compile(
    r"\| (?P<n>\S+)/(?P<total>\S+) \[(?P<elapsed>[^<]*)<(?P<remaining>[^,]*), (?P<rate>.*)\]$"
)
METER_NO_TOTAL = re.compile(r"^(?P<n>.*?)(?P<unit>[A-Za-z]+) \[(?P<elapsed>.*), (?P<rate>.*)\]$")


@pytest.mark.slow
@settings(max_examples=400, deadline=None)
@given(
    n=st.one_of(st.integers(0, 10**9), st.floats(0, 1e9)),
    total=st.one_of(st.none(), st.integers(1, 10**9)),
    rate=st.one_of(st.none(), st.floats(1e-4, 1e7)),
    elapsed=st.floats(0, 1e6),
    unit=st.sampled_from(["it", "B", "epoch", "img"]),
    unit_scale=st.sampled_from([False, True, 1, 0, 0.5, 8, 1024]),
    unit_divisor=st.sampled_from([1000, 1024]),
)
def test_label_pieces_are_tqdms_own(
    n: float,
    total: int | None,
    rate: float | None,
    elapsed: float,
    unit: str,
    unit_scale: bool | float,
    unit_divisor: int,
) -> None:
    # Without a rate the label shows none: tqdm must not derive one from the elapsed time.
    meter = _std.format_meter(
        n,
        total,
        elapsed if rate else 0,
        unit=unit,
        unit_scale=unit_scale,
        rate=rate,
        unit_divisor=unit_divisor,
    )
    bar = BarView(
        n=n,
        total=total,
        rate=rate,
        elapsed=elapsed,
        unit=unit,
        unit_scale=unit_scale,
        unit_divisor=unit_divisor,
    )
    parts = bar_label(bar).split(" \u00b7 ")
    counted = bool(total) and n < total + 0.5  # tqdm drops a total the count has passed
    shown = METER.search(meter) if counted else METER_NO_TOTAL.match(meter)
    assert shown is not None, meter
    if counted:
        assert parts[0].startswith(f"{shown['n']}/{shown['total']}")
    else:
        assert parts[0] == f"{shown['n']}{shown['unit']}"
    if rate is None:
        assert len(parts) == 1
        return
    assert parts[1] == shown["rate"].strip()
    if total and total > n:
        assert parts[2] == f"ETA {shown['remaining']}"
    ended = bar_label(replace(bar, outcome=COMPLETE)).split(" \u00b7 ")
    assert ended[-1] == f"in {shown['elapsed']}"


def test_elements_accept_ints_and_floats() -> None:
    assert json.loads(gauge_line(2, 3, "x")) == {
        "type": "gauge",
        "value": 2,
        "min": 0,
        "max": 3,
        "label": "x",
    }
    assert json.loads(sparkline_line([1, 2.5])) == {"type": "sparkline", "values": [1, 2.5]}


def test_outcome_colors() -> None:
    colors = [lines(compose([BarView(n=1, total=2, outcome=o)]))[0].get("color") for o in OUTCOMES]
    assert colors == [None, "good", "warn", "bad", "warn"]


def test_failure_names_the_innermost_unfinished_bar() -> None:
    bars = [
        BarView(desc="epoch", n=1, total=3, outcome=FAILED),
        BarView(desc="train", n=412, total=1875, outcome=FAILED),
    ]
    head = lines(compose(bars, ending=Ending(FAILED, "RuntimeError: CUDA out of memory")))[0]
    assert head == {
        "type": "text",
        "text": "Failed at train 412/1875: RuntimeError: CUDA out of memory",
        "color": "bad",
    }


def test_failure_without_bars() -> None:
    head = lines(compose([], ending=Ending(FAILED, "ValueError: x")))[0]
    assert head["text"] == "Failed: ValueError: x"


def test_metrics_text_then_sparkline_and_a_summary_line() -> None:
    status = compose(
        [],
        [
            MetricView("loss", 0.25, (1.0, 0.5), True),
            MetricView("lr", 1e-3),
            MetricView("phase", "warmup"),
        ],
    )
    assert lines(status) == [
        {"type": "text", "text": "loss 0.25"},
        {"type": "sparkline", "values": [1.0, 0.5]},
        {"type": "text", "text": "lr 0.001 \u00b7 phase warmup"},
    ]


def test_nan_metric_is_shown_as_such_in_bad_color() -> None:
    (text, spark) = lines(compose([], [MetricView("loss", math.nan, (1.0,), True)]))
    assert text == {"type": "text", "text": "loss nan", "color": "bad"}
    assert spark == {"type": "sparkline", "values": [1.0], "color": "bad"}


def test_a_metric_without_finite_points_has_no_empty_sparkline() -> None:
    status = lines(compose([], [MetricView("loss", math.nan, (math.nan, math.inf), True)]))
    assert status == [{"type": "text", "text": "loss nan", "color": "bad"}]


def test_a_metric_line_tells_the_extremes_and_the_first_nan() -> None:
    def text(**kwargs: object) -> dict[str, object]:
        return lines(compose([], [MetricView("loss", charted=True, **kwargs)]))[0]

    assert text(value=0.31, low=0.12, high=2.75) == {
        "type": "text",
        "text": "loss 0.31 \u00b7 min 0.12 \u00b7 max 2.75",
    }
    assert text(value=0.5, low=0.5, high=0.5) == {"type": "text", "text": "loss 0.5"}
    assert text(value=math.nan, bad=math.nan, bad_step=412) == {
        "type": "text",
        "text": "loss nan since step 412",
        "color": "bad",
    }
    assert text(value=0.31, bad=math.inf, bad_step=412, low=0.12, high=2.75) == {
        "type": "text",
        "text": "loss 0.31 \u00b7 inf at step 412 \u00b7 min 0.12 \u00b7 max 2.75",
        "color": "warn",
    }
    assert text(value=-math.inf, bad=-math.inf)["text"] == "loss -inf"  # no step known


def test_many_bars_are_counted_not_listed() -> None:
    status = lines(compose([BarView(n=i, total=10) for i in range(MAX_BARS + 4)]))
    assert len(status) == MAX_BARS + 1
    assert status[-1]["text"] == "+4 more bars"


def test_clean_strips_escapes_and_line_breaks() -> None:
    assert clean("\x1b[31mred\x1b[0m\nnext\rline\u2028sep\x85", 100) == "red next line sep"
    assert clean("x" * 50, 10) == "x" * 9 + "\u2026"


def test_error_text_is_one_short_line() -> None:
    text = error_text(RuntimeError("line one\nline two " + "y" * 500))
    assert text.startswith("RuntimeError: line one line two") and len(text) <= 100


def test_milestone_comes_first_with_its_color() -> None:
    status = lines(
        compose([BarView(n=1, total=2)], milestone=Milestone("Loading\u2026", "#3366ff"))
    )
    assert status[0] == {"type": "text", "text": "Loading\u2026", "color": "#3366ff"}


def test_the_largest_possible_status_stays_bounded() -> None:
    wide = "\U0001f600" * 20_000  # each escapes to 12 bytes of JSON
    bars = [BarView(desc=wide, n=1.23456789e-7, total=9.87654321e300, unit=wide)] * 20
    metrics = [MetricView(wide, wide, [1.23456789e-300] * 500, True) for _ in range(100)]
    status = compose(bars, metrics, Milestone(wide, wide), Ending(FAILED, wide))
    assert len(status) <= 16_000
    kinds = [json.loads(line)["type"] for line in status.split("\n")]
    assert kinds[:3] == ["text", "text", "gauge"]  # how it ended, the milestone, a bar


# -- properties: any input gives a bounded status of valid elements ------------------------------

anything = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.text(max_size=300),
    st.booleans(),
    st.none(),
)
numbers = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**40), max_value=10**40),
)
bar_views = st.builds(
    BarView,
    desc=st.text(max_size=12_000),
    n=st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(min_value=-(10**40), max_value=10**40),
    ),
    total=numbers,
    rate=numbers,
    elapsed=st.floats(allow_nan=True, allow_infinity=True),
    unit=st.text(max_size=50),
    unit_scale=st.one_of(st.booleans(), st.floats(allow_nan=True, allow_infinity=True)),
    unit_divisor=st.one_of(st.just(1000), st.just(1024), st.floats(min_value=2, max_value=1e6)),
    outcome=st.sampled_from(OUTCOMES),
)
metric_views = st.builds(
    MetricView,
    name=st.text(max_size=500),
    value=anything,
    points=st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=300),
    charted=st.booleans(),
    low=anything,
    high=anything,
    bad=anything,
    bad_step=anything,
)


@pytest.mark.slow
@settings(max_examples=400, deadline=None)
@given(
    bars=st.lists(bar_views, max_size=10),
    metrics=st.lists(metric_views, max_size=80),
    milestone=st.one_of(
        st.none(),
        st.builds(Milestone, st.text(max_size=11_000), st.one_of(st.none(), st.text(max_size=100))),
    ),
    ending=st.one_of(
        st.none(), st.builds(Ending, st.sampled_from([FAILED, INTERRUPTED]), st.text(max_size=500))
    ),
)
def test_any_input_gives_a_small_status_of_valid_elements(bars, metrics, milestone, ending) -> None:
    status = compose(bars, metrics, milestone, ending)
    assert len(status.encode()) <= 16_000
    for line in status.split("\n") if status else []:
        assert line.isascii() and line.isprintable()
        element = json.loads(line, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
        assert element["type"] in ("text", "gauge", "sparkline")
        if element["type"] == "gauge":
            assert element["min"] <= element["value"] <= element["max"]
            assert all(math.isfinite(element[k]) for k in ("value", "min", "max"))
        if element["type"] == "sparkline":
            assert all(math.isfinite(v) for v in element["values"])


def test_an_eta_beyond_any_clock_leaves_just_the_counts() -> None:
    # tqdm's format_meter raises OverflowError here; the label keeps what can be shown.
    assert bar_label(BarView(desc="x", n=1, total=10, rate=1e-308)) == "x 1/10"


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(metric=metric_views)
def test_any_metric_gives_one_short_line_or_a_summary(metric: MetricView) -> None:
    (first, *rest) = lines(compose([], [metric]))
    assert first["type"] == "text" and len(first["text"]) <= 160
    assert len(rest) <= 1 and all(e["type"] == "sparkline" for e in rest)

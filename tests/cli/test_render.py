"""Parsing and drawing status lines for the terminal (``vhtqdm watch``, the preview summary)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vhtqdm._cli.progress import reading
from vhtqdm._cli.render import (
    BLOCKS,
    Gauge,
    Plain,
    Sparkline,
    Text,
    blocks,
    gauge_bar,
    parse,
    parse_line,
    render,
    render_element,
    sgr,
)
from vhtqdm._cli.screen import row
from vhtqdm._compose import BarView, compose, gauge_line, sparkline_line, text_line

_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def visible(line: str) -> str:
    return _ESCAPE.sub("", line)


# -- parsing each element type ------------------------------------------------------------------


def test_a_text_element_keeps_its_text_and_color() -> None:
    assert parse_line(text_line("Model converged!", "good")) == Text("Model converged!", "good")
    assert parse_line('{"type":"text","text":"plain"}') == Text("plain", None)


def test_a_gauge_takes_valohais_defaults_min_0_and_max_1() -> None:
    gauge = parse_line('{"type": "gauge", "value": 0.75, "label": "Training Progress"}')
    assert gauge == Gauge(0.75, 0.0, 1.0, "Training Progress", None)
    assert isinstance(gauge, Gauge) and gauge.fraction == 0.75


def test_a_gauge_with_a_range_and_color() -> None:
    line = '{"type":"gauge","value":45,"min":0,"max":100,"label":"Epoch 45/100","color":"good"}'
    gauge = parse_line(line)
    assert gauge == Gauge(45, 0, 100, "Epoch 45/100", "good")
    assert isinstance(gauge, Gauge) and gauge.fraction == 0.45


@pytest.mark.parametrize(
    ("value", "low", "high", "fraction"),
    [(-5, 0, 10, 0.0), (15, 0, 10, 1.0), (5, 10, 10, 0.0), (10, 10, 10, 1.0), (3, 2, 4, 0.5)],
)
def test_a_gauge_fraction_is_clamped_and_survives_an_empty_range(
    value: float, low: float, high: float, fraction: float
) -> None:
    assert Gauge(value, low, high).fraction == fraction


def test_a_sparkline_keeps_its_values() -> None:
    assert parse_line(sparkline_line([0.8, 0.6, 0.4], "bad")) == Sparkline((0.8, 0.6, 0.4), "bad")
    assert parse_line('{"type":"sparkline","values":[]}') == Sparkline(())


def test_what_vhtqdm_composes_parses_back_into_elements() -> None:
    status = compose([BarView(desc="train", n=10, total=80, rate=49.0)])
    (gauge,) = parse(status)
    assert isinstance(gauge, Gauge)
    assert (gauge.value, gauge.max) == (10, 80)
    assert gauge.label.startswith("train 10/80")


# -- unknown and malformed lines are plain text -------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "Processing epoch 23/100",  # a plain-text status, as valohai-utils sets it
        "{not json",
        '{"type":"text"}',  # no text
        '{"type":"text","text":42}',
        '{"type":"gauge","label":"no value"}',
        '{"type":"gauge","value":"45"}',
        '{"type":"gauge","value":true}',
        '{"type":"gauge","value":1,"max":NaN}',  # not JSON, though Python's parser takes it
        '{"type":"gauge","value":1,"label":7}',
        '{"type":"sparkline","values":"1,2,3"}',
        '{"type":"sparkline","values":[1,"2",3]}',
        '{"type":"sparkline","values":[1,Infinity]}',
        '{"type":"table","rows":[]}',  # an element type this version does not know
        '{"text":"no type"}',
        "[1, 2, 3]",
        '"a string"',
        "{" * 5000,  # deeply nested garbage
    ],
)
def test_an_unknown_or_malformed_line_is_shown_as_plain_text(line: str) -> None:
    element = parse_line(line)
    assert isinstance(element, Plain)
    assert line.strip().startswith(element.text.rstrip("…"))
    assert render_element(element, 200).startswith(line.strip()[:20])


def test_a_non_string_color_is_ignored_not_fatal() -> None:
    assert parse_line('{"type":"text","text":"hi","color":3}') == Text("hi", None)


def test_escape_sequences_and_line_breaks_in_a_status_never_reach_the_terminal() -> None:
    hostile = json.dumps({"type": "text", "text": "a\x1b[2Jb\u2028c\rd"})
    for line in (hostile, "x\x1b]0;title\x07y"):
        drawn = render(line, 80)[0]
        assert "\x1b" not in drawn and "\r" not in drawn and "\u2028" not in drawn


def test_blank_lines_are_skipped_and_an_empty_status_says_so() -> None:
    assert parse("\n  \n" + text_line("x") + "\n\n") == [Text("x")]
    assert render("") == ["(empty status)"]
    assert render(None) == ["(empty status)"]


# -- drawing ------------------------------------------------------------------------------------


def test_sparkline_blocks_go_from_the_lowest_to_the_highest_block() -> None:
    assert blocks([0, 7]) == "▁█"
    assert blocks([2.279, 1.576, 0.9567, 0.603]) == "█▅▂▁"
    assert blocks([5, 5, 5]) == "▄▄▄"  # flat: the middle
    assert blocks([]) == ""
    assert blocks(list(range(100)), points=10) == blocks(list(range(90, 100)))  # newest points
    assert set(blocks([3.1, -2, 8, 0.5])) <= set(BLOCKS)


def test_gauge_bars_fill_by_eighths_and_keep_their_width() -> None:
    assert gauge_bar(0.0, 8) == " " * 8
    assert gauge_bar(1.0, 8) == "█" * 8
    assert gauge_bar(0.5, 8) == "████    "
    assert gauge_bar(1 / 16, 8) == "▌       "
    assert all(len(gauge_bar(f / 97, 24)) == 24 for f in range(98))


def test_a_gauge_line_shows_bar_percentage_and_label() -> None:
    line = render_element(Gauge(10, 0, 80, "train 10/80 · 49.0 it/s"), 80)
    assert line == "███                       12%  train 10/80 · 49.0 it/s"


def test_a_sparkline_line_shows_the_first_and_last_value() -> None:
    line = render_element(Sparkline((2.279, 1.576, 0.9567, 0.603)), 80)
    assert line == "█▅▂▁  2.279 → 0.603"


def test_colors_become_ansi_only_when_asked() -> None:
    assert render_element(Text("done", "good"), 80, ansi=False) == "done"
    assert render_element(Text("done", "good"), 80, ansi=True) == "\x1b[32mdone\x1b[0m"
    assert render_element(Text("oops", "bad"), 80, ansi=True).startswith("\x1b[31m")
    assert render_element(Text("hmm", "warn"), 80, ansi=True).startswith("\x1b[33m")


@pytest.mark.parametrize(
    ("color", "code"),
    [
        ("#ff8800", "\x1b[38;2;255;136;0m"),
        ("#f80", "\x1b[38;2;255;136;0m"),
        ("rgb(1, 2, 3)", "\x1b[38;2;1;2;3m"),
        ("Orange", "\x1b[38;2;255;165;0m"),
        ("rebeccapurple", ""),  # a CSS name we do not map: uncolored, never an error
        ("#12345", ""),
        ("", ""),
        (None, ""),
    ],
)
def test_css_colors_map_to_true_color(color: str | None, code: str) -> None:
    assert sgr(color) == code


@given(st.text(max_size=300), st.integers(min_value=0, max_value=300))
def test_any_line_renders_to_one_printable_line_within_the_width(line: str, width: int) -> None:
    for drawn in render(line, width, ansi=True):
        text = visible(drawn)
        assert len(text) <= max(width, 20)
        assert text.isprintable()


# Any line vhtqdm's composer helpers can produce, and any other text.
LINES = st.one_of(
    st.builds(text_line, st.text(max_size=50), st.sampled_from([None, "good", "#123"])),
    st.builds(
        gauge_line,
        st.floats(0, 1e6),
        st.floats(1e-3, 1e6),
        st.text(max_size=40),
    ),
    st.builds(sparkline_line, st.lists(st.floats(-1e9, 1e9), max_size=80)),
    st.text(max_size=80),
)


@given(st.lists(LINES, max_size=12))
def test_every_element_vhtqdm_can_produce_draws_as_a_typed_element(lines: list[str]) -> None:
    status = "\n".join(lines)
    elements = parse(status)
    for line, element in zip([x for x in status.splitlines() if x.strip()], elements):
        if line.startswith('{"type":'):
            assert not isinstance(element, Plain), line
    assert len(render(status, 80)) == max(len(elements), 1)


@given(
    detail=st.one_of(st.none(), st.text(max_size=300), st.lists(LINES, max_size=6).map("\n".join)),
    counter=st.one_of(st.none(), st.integers(0, 10**9)),
    status=st.text(max_size=30),
    width=st.integers(60, 200),
)
def test_a_watch_row_is_one_printable_line_within_the_width(
    detail: str | None, counter: int | None, status: str, width: int
) -> None:
    data = {"counter": counter, "status": status, "step": "train", "status_detail": detail}
    line = row(reading(data, datetime(2025, 3, 1, tzinfo=timezone.utc)), width, False, None)
    assert "\n" not in line and "\r" not in line
    assert line.isprintable()
    assert len(line) <= width

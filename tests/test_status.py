"""What the status endpoint receives while bars run in this process (real loopback server)."""

from __future__ import annotations

import time

import pytest

import vhtqdm
from vhtqdm import tqdm, trange

from .helpers import last_gauges, quiet
from .server import Answer, StatusServer


def test_a_running_bar_is_a_gauge_with_a_human_label(valohai: StatusServer) -> None:
    bar = tqdm(total=1875, desc="train", **quiet())
    bar.update(412)
    assert vhtqdm.flush(5)
    (gauge,) = last_gauges(valohai)
    assert (gauge["value"], gauge["min"], gauge["max"]) == (412, 0, 1875)
    assert gauge["label"].startswith("train 412/1875 \u00b7 ")
    assert "it/s \u00b7 ETA " in gauge["label"]
    assert "color" not in gauge  # running: the UI's default color
    bar.close()


def test_nested_bars_show_two_gauges_outermost_first(valohai: StatusServer) -> None:
    outer = trange(3, desc="epoch", **quiet())
    inner = tqdm(total=100, desc="batch", **quiet())
    inner.update(40)
    assert vhtqdm.flush(5)
    labels = [g["label"].split(" ")[0] for g in last_gauges(valohai)]
    assert labels == ["job", "epoch", "batch"]  # the whole job's gauge opens the status
    inner.close()
    outer.close()


def test_unknown_total_is_a_text_line_with_count_and_speed(valohai: StatusServer) -> None:
    bar = tqdm(desc="download", **quiet())
    bar.update(1234)
    assert vhtqdm.flush(5)
    assert valohai.last is not None
    assert valohai.last.of_type("gauge") == []
    (text,) = valohai.last.texts()
    assert text.startswith("download 1234it \u00b7 ") and text.endswith("it/s")
    bar.close()


def test_units_and_scaling_follow_tqdm(valohai: StatusServer) -> None:
    bar = tqdm(
        total=4_500_000, unit="B", unit_scale=True, unit_divisor=1024, desc="data", **quiet()
    )
    bar.update(1_300_000)
    assert vhtqdm.flush(5)
    (gauge,) = last_gauges(valohai)
    assert gauge["label"].startswith("data 1.24M/4.29MB \u00b7 ")
    assert (gauge["value"], gauge["max"]) == (1_300_000, 4_500_000)
    bar.close()


def test_the_loss_sparkline_spans_the_whole_run(valohai: StatusServer) -> None:
    bar = tqdm(total=1000, sparkline_window=4, **quiet())
    for step in range(1000):
        bar.set_postfix(loss=float(step))
        bar.update()
    assert vhtqdm.flush(5)
    assert valohai.last is not None
    text, spark = valohai.last.elements[-2:]
    assert text == {"type": "text", "text": "loss 999 \u00b7 min 0 \u00b7 max 999"}
    values = spark["values"]
    assert 2 <= len(values) <= 4 and values == sorted(values)
    assert values[0] < 250 and values[-1] > 750  # from the first report to the latest
    bar.close()


def test_only_chosen_keys_get_a_sparkline(valohai: StatusServer) -> None:
    bar = tqdm(total=10, sparklines=["loss"], **quiet())
    bar.set_postfix(loss=0.5, lr=0.001, phase="warmup")
    assert vhtqdm.flush(5)
    assert valohai.last is not None
    assert valohai.last.of_type("sparkline") == [{"type": "sparkline", "values": [0.5]}]
    assert "lr 0.001 \u00b7 phase warmup" in valohai.last.texts()
    bar.close()


@pytest.mark.timing
@pytest.mark.slow
def test_posts_are_spaced_by_the_status_interval(valohai: StatusServer) -> None:
    with tqdm(total=10_000, status_interval=0.5, **quiet()) as bar:
        deadline = time.monotonic() + 2.6
        while time.monotonic() < deadline:
            bar.update()
            bar.set_postfix(loss=1.0 / bar.n)
            time.sleep(0.002)
        running = list(valohai.posts)
    gaps = [b.at - a.at for a, b in zip(running, running[1:])]
    assert 4 <= len(running) <= 7, [round(g, 2) for g in gaps]
    assert min(gaps) >= 0.45, [round(g, 2) for g in gaps]  # 50 ms for scheduling jitter


def test_the_final_status_goes_out_when_the_last_bar_closes(valohai: StatusServer) -> None:
    bar = tqdm(range(50), desc="train", **quiet())  # default interval: 5 s
    assert valohai.wait_for(lambda posts: len(posts) == 1, 5)  # the first status, at start
    for _ in bar:
        pass
    closed = time.monotonic()
    assert valohai.wait_for(lambda posts: len(posts) == 2, 3)
    assert valohai.posts[1].at - closed < 1.0  # not after the 5 s interval
    (gauge,) = last_gauges(valohai)
    assert gauge["value"] == gauge["max"] == 50
    assert gauge["color"] == "good"


def test_a_bar_closed_early_is_warn(valohai: StatusServer) -> None:
    for i in tqdm(range(100), desc="search", **quiet()):
        if i == 30:
            break
    assert valohai.wait_for(lambda posts: bool(posts) and "color" in posts[-1].status, 5)
    (gauge,) = last_gauges(valohai)
    assert (gauge["value"], gauge["color"]) == (30, "warn")


def test_an_exception_inside_with_makes_the_bar_bad(valohai: StatusServer) -> None:
    with pytest.raises(ValueError), tqdm(total=10, **quiet()) as bar:
        bar.update(3)
        raise ValueError("boom")
    assert valohai.wait_for(lambda posts: bool(posts) and "color" in posts[-1].status, 5)
    assert last_gauges(valohai)[0]["color"] == "bad"


def test_set_status_is_shown_above_running_bars_and_alone_after(valohai: StatusServer) -> None:
    vhtqdm.set_status("Loading training data\u2026")
    assert valohai.wait_for(lambda posts: len(posts) == 1, 5)
    assert valohai.posts[0].elements == [{"type": "text", "text": "Loading training data\u2026"}]
    bar = tqdm(total=10, desc="train", status_interval=0.5, **quiet())
    assert valohai.wait_for(lambda posts: bool(posts[-1].of_type("gauge")), 5)
    first, second = valohai.posts[-1].elements[:2]
    assert first["text"] == "Loading training data\u2026" and second["type"] == "gauge"
    bar.update(10)
    bar.close()
    vhtqdm.set_status("Evaluating", color="warn")
    assert vhtqdm.flush(5)
    assert valohai.last is not None
    assert valohai.last.elements == [{"type": "text", "text": "Evaluating", "color": "warn"}]


@pytest.mark.timing
def test_a_milestone_then_the_first_bar_both_go_out_at_once(valohai: StatusServer) -> None:
    started = time.monotonic()
    vhtqdm.set_status("Warming up")
    bar = tqdm(total=10, desc="train", **quiet())  # default interval: 5 s
    assert valohai.wait_for(lambda posts: any(p.of_type("gauge") for p in posts), 3)
    assert valohai.posts[-1].at - started < 1.0
    bar.close()


@pytest.mark.timing
@pytest.mark.slow
def test_urgent_posts_cannot_flood_the_api(valohai: StatusServer) -> None:
    started = time.monotonic()
    for i in range(30):  # each a run's first bar and its last bar closing: all urgent
        for _ in tqdm(range(2), desc=f"short{i}", status_interval=1, **quiet()):
            time.sleep(0.02)
    elapsed = time.monotonic() - started
    assert vhtqdm.flush(5)
    # At most: the two-token burst, one token and one regular post per interval, the flush.
    assert len(valohai.posts) <= 2 + 2 * (elapsed / 1.0 + 1) + 1, (len(valohai.posts), elapsed)
    assert valohai.last is not None and valohai.last.of_type("gauge")[0]["label"].startswith(
        "short29 "
    )


@pytest.mark.slow
def test_an_unchanged_status_is_not_posted_again(valohai: StatusServer) -> None:
    bar = tqdm(total=10, status_interval=0.5, **quiet())
    bar.update(5)
    assert vhtqdm.flush(5)
    posted = len(valohai.posts)
    time.sleep(1.2)  # two intervals without progress: same label, same status
    assert vhtqdm.flush(5)
    assert len(valohai.posts) == posted
    bar.close()


@pytest.mark.timing
@pytest.mark.slow
def test_a_slow_server_does_not_slow_the_loop(valohai: StatusServer) -> None:
    valohai.answer = Answer(delay=2.0)
    started = time.monotonic()
    bar = tqdm(range(40), status_interval=0.5, **quiet())
    for i in bar:
        time.sleep(0.01)
        bar.set_postfix(loss=1 / (i + 1))
        if i % 5 == 0:
            vhtqdm.set_status(f"step {i}")
    elapsed = time.monotonic() - started
    assert elapsed < 0.4 + 0.5  # 40 x 10 ms of work, plus a generous margin
    assert valohai.wait_for(lambda posts: len(posts) >= 1, 10)


def test_bars_that_opt_out_are_not_mirrored(valohai: StatusServer) -> None:
    hidden = tqdm(total=5, desc="hidden", status=False, **quiet())
    shown = tqdm(total=5, desc="shown", **quiet())
    assert vhtqdm.flush(5)
    assert [g["label"].split()[0] for g in last_gauges(valohai)] == ["shown"]
    hidden.close()
    shown.close()


def test_vhtqdm_disable_turns_mirroring_off(valohai: StatusServer, monkeypatch) -> None:
    monkeypatch.setenv("VHTQDM_DISABLE", "1")
    for _ in tqdm(range(10), **quiet()):
        pass
    vhtqdm.set_status("hello")
    assert vhtqdm.flush(1)
    time.sleep(0.3)
    assert valohai.attempts == 0


def test_the_token_goes_in_the_headers_and_the_body_is_json(valohai: StatusServer) -> None:
    bar = tqdm(total=3, **quiet())
    assert vhtqdm.flush(5)
    post = valohai.last
    assert post is not None
    assert post.method == "POST" and post.path == f"/api/v0/executions/{valohai.execution}/status/"
    assert post.headers["Authorization"].startswith("Token ")
    assert post.headers["Content-Type"] == "application/json"
    assert set(post.body) == {"status_detail"}
    bar.close()

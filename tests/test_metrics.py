"""Postfix values in the status: whole-run curves, train and eval apart, NaNs told, extremes."""

from __future__ import annotations

import io
import math
from typing import Any

import pytest

import vhtqdm
from vhtqdm import tqdm

from .helpers import quiet
from .server import StatusServer

DOT = " \u00b7 "


def metrics(server: StatusServer) -> list[dict[str, Any]]:
    """The status' metric lines: the text and sparkline elements after the last gauge (phase
    lines of earlier bars come before the gauges), in order."""
    assert vhtqdm.flush(5)
    assert server.last is not None
    elements = server.last.elements
    gauges = [i for i, e in enumerate(elements) if e["type"] == "gauge"]
    after = elements[gauges[-1] + 1 :] if gauges else elements
    return [e for e in after if e["type"] in ("text", "sparkline")]


def test_a_short_run_still_draws_its_curve(valohai: StatusServer) -> None:
    bar = tqdm(total=10, **quiet())
    for step in range(10):
        bar.set_postfix(loss=1 / (step + 1))
        bar.update()
    (text, spark) = metrics(valohai)
    assert text["text"] == f"loss 0.1{DOT}min 0.1{DOT}max 1"
    assert spark["values"] == [round(1 / (i + 1), 4) for i in range(10)]  # every report
    bar.close()


def test_a_long_run_keeps_at_least_half_the_window(valohai: StatusServer) -> None:
    bar = tqdm(total=10_000, sparkline_window=10, **quiet())
    for step in range(10_000):
        bar.set_postfix(loss=float(step), refresh=False)
    (_, spark) = metrics(valohai)
    assert 5 <= len(spark["values"]) <= 10
    assert spark["values"][0] < 1000 and spark["values"][-1] > 9000
    bar.close()


def test_train_and_eval_keep_their_own_series_and_lines(valohai: StatusServer) -> None:
    for epoch in range(3):  # bars re-created each epoch, as the README's quick start does
        train = tqdm(total=4, desc="train", **quiet())
        for step in range(4):
            train.set_postfix(loss=0.1 * (3 - epoch) + 0.01 * step, lr=0.5)
            train.update()
        train.close()
        evaluate = tqdm(total=2, desc="eval: ", **quiet())
        for _ in range(2):
            evaluate.set_postfix(loss=5.0 - epoch)
            evaluate.update()
        evaluate.close()
    texts = [e["text"] for e in metrics(valohai) if e["type"] == "text"]
    assert texts == [
        f"train loss 0.13{DOT}min 0.1{DOT}max 0.33",  # the loss first, the evaluation's next
        f"eval loss 3{DOT}min 3{DOT}max 5",
        "lr 0.5",  # a schedule: text, not a curve; one bar only: its plain name
    ]
    sparks = [e["values"] for e in metrics(valohai) if e["type"] == "sparkline"]
    assert sparks[1] == [5, 4, 3]  # the eval series alone: one point per evaluation


def test_only_whole_words_make_a_curve_an_evaluations(valohai: StatusServer) -> None:
    # "retrieval" holds "val" and "latest" holds "test": neither is an evaluation's metric,
    # so the evaluation's accuracy ranks before them; they keep the order they came in (tqdm's
    # set_postfix sorts its keywords).
    bar = tqdm(total=2, **quiet())
    bar.set_postfix(retrieval_recall=0.4, latest_score=0.2, val_acc=0.7)
    texts = [e["text"] for e in metrics(valohai) if e["type"] == "text"]
    assert texts == ["val_acc 0.7", "latest_score 0.2", "retrieval_recall 0.4"]
    bar.close()


def test_a_bar_described_per_epoch_keeps_one_series(valohai: StatusServer) -> None:
    bar = tqdm(total=6, **quiet())
    for epoch in range(3):
        bar.set_description(f"Epoch {epoch}")  # Lightning's bar does this
        bar.set_postfix(train_loss=3.0 - epoch)
        bar.update(2)
    (text, spark) = metrics(valohai)
    assert text["text"] == f"train_loss 1{DOT}min 1{DOT}max 3"
    assert spark["values"] == [3, 2, 1]
    bar.close()


def test_sparklines_may_name_a_series_of_one_bar(valohai: StatusServer) -> None:
    train = tqdm(total=2, desc="train", sparklines=["eval loss"], **quiet())
    evaluate = tqdm(total=2, desc="eval", sparklines=["eval loss"], **quiet())
    train.set_postfix(loss=0.5)
    evaluate.set_postfix(loss=2.0)
    elements = metrics(valohai)
    assert [e["type"] for e in elements] == ["text", "sparkline", "text"]
    assert elements[0]["text"] == "eval loss 2"
    assert elements[2]["text"] == "train loss 0.5"  # not charted: in the summary line
    train.close()
    evaluate.close()


def test_a_nan_is_told_with_its_step_and_never_erases_the_curve(valohai: StatusServer) -> None:
    bar = tqdm(total=10, **quiet())
    for value in (2.0, 1.0):
        bar.set_postfix(loss=value)
        bar.update()
    bar.set_postfix(loss=math.nan)
    (text, spark) = metrics(valohai)
    assert text == {
        "type": "text",
        "text": f"loss nan since step 2{DOT}min 1{DOT}max 2",
        "color": "bad",
    }
    assert spark == {"type": "sparkline", "values": [2, 1], "color": "bad"}
    bar.update()
    bar.set_postfix(loss=0.5)  # recovered: the NaN is still told, in warn
    (text, spark) = metrics(valohai)
    assert text == {
        "type": "text",
        "text": f"loss 0.5{DOT}nan at step 2{DOT}min 0.5{DOT}max 2",
        "color": "warn",
    }
    assert spark == {"type": "sparkline", "values": [2, 1, 0.5]}
    bar.close()


def test_an_interval_with_a_nan_keeps_its_finite_values(valohai: StatusServer) -> None:
    bar = tqdm(total=1000, sparkline_window=2, **quiet())
    for value in (1.0, math.inf, 3.0, math.nan):  # buckets of two reports, then of four
        bar.set_postfix(loss=value)
        bar.update()
    (text, spark) = metrics(valohai)
    assert text["text"] == f"loss nan since step 1{DOT}min 1{DOT}max 3"
    assert spark["values"] == [2]  # the mean of the finite 1 and 3
    bar.close()


def test_a_nan_in_a_for_loop_is_told_at_the_loop_s_true_step(valohai: StatusServer) -> None:
    # tqdm counts a `for` loop in a local of its iterator and writes bar.n only when it redraws:
    # with a long mininterval bar.n says 0 for the whole loop. The step is the loop's own count.
    bar = tqdm(range(100), file=io.StringIO(), mininterval=3600)
    for step in bar:
        bar.set_postfix(loss=math.nan if step == 41 else 1.0, refresh=False)
        if step == 60:
            (text, _) = metrics(valohai)
            assert text["text"] == f"loss 1{DOT}nan at step 41"


@pytest.mark.parametrize("epochs", ["re-created", "reset", "re-described"])
def test_a_nan_s_step_counts_across_the_epochs(valohai: StatusServer, epochs: str) -> None:
    # The step of the whole run, as the metadata lines count it: epoch * batches + batch, for an
    # inner bar re-created every epoch (the README's loop), reset every epoch (Lightning's), or
    # re-created as "Epoch 1", "Epoch 2" (one series: the label leaves numbers out).
    outer = tqdm(range(3), **quiet())
    named = epochs == "re-described"
    inner = tqdm(total=10, desc="Epoch 0" if named else None, **quiet())
    for epoch in outer:
        if epoch:
            if epochs == "reset":
                inner.reset(total=10)
            else:
                inner.close()
                inner = tqdm(total=10, desc=f"Epoch {epoch}" if named else None, **quiet())
        for batch in range(10):
            inner.set_postfix(loss=math.nan if (epoch, batch) == (2, 4) else 1.0)
            inner.update()
    (text, _) = metrics(valohai)
    assert text["text"] == f"loss 1{DOT}nan at step 24"
    inner.close()
    outer.close()

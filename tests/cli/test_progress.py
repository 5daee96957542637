"""Reading progress back from a status (``vhtqdm watch --json``): what the composer writes is
read back as it was meant, and any status at all gives a valid record."""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vhtqdm._cli.progress import Series, clock_seconds, reading, record
from vhtqdm._compose import compose, gauge_line, sparkline_line, text_line
from vhtqdm._limits import MAX_BARS
from vhtqdm._views import BarView, Job, MetricView, Milestone, Stall

SEEN = datetime(2025, 3, 1, 19, 0, 0, tzinfo=timezone.utc)

# The README's status during examples/long_run.py's hang, and once it has finished.
HANG = "\n".join(
    [
        gauge_line(0.583333, 1, "job 58% · stalled · elapsed 00:05", "warn"),
        text_line("stalled for 2 s at train 30/40 (usual step 0.041 s)", "warn"),
        text_line("Simulated long run: 3 epochs of 40 batches"),
        text_line("prepare 20/20 · 47.09it/s · in 00:00 · done", "good"),
        gauge_line(1.75, 3, "epoch 1/3"),
        gauge_line(30, 40, "train 30/40"),
        text_line("train loss 0.473 · nan at step 60 · min 0.4589 · max 2.371", "warn"),
        sparkline_line([2.309, 2.203, 2.088, 1.997]),
        text_line("eval loss 1.114 · min 1.078 · max 1.114"),
        sparkline_line([1.099, 1.088, 1.093, 1.082, 1.078, 1.106]),
    ]
)
FINISHED = "\n".join(
    [
        text_line("Simulated long run: 3 epochs of 40 batches"),
        text_line("epoch 3/3 · 3.19s/it · in 00:09 · done", "good"),
        gauge_line(20, 20, "test 20/20 · 47.84it/s · in 00:00", "good"),
        text_line("train loss 0.2298 · nan at step 60 · min 0.1729 · max 2.371", "warn"),
        sparkline_line([2.256, 2.043, 1.864]),
        text_line("acc 0.9 · lr 0.001 · opt adam"),
    ]
)


def read_record(detail: object, **fields: object) -> dict[str, object]:
    """The --json object of an execution whose ``status_detail`` is ``detail``."""
    execution = {"id": "e-1", "counter": 7, "status": "started", "status_detail": detail}
    return record(reading({**execution, **fields}, SEEN))


def test_the_readmes_stalled_job_is_read_as_stalled_with_its_metrics() -> None:
    data = read_record(HANG)
    assert data["progress"] == 0.583333
    assert data["stalled"] is True
    assert data["eta_seconds"] is None and data["finishes_at"] is None
    assert data["metrics"] == {
        "train loss": {"latest": 0.473, "min": 0.4589, "max": 2.371, "non_finite_step": 60},
        "eval loss": {"latest": 1.114, "min": 1.078, "max": 1.114, "non_finite_step": None},
    }
    assert len(data["lines"]) == 10  # type: ignore[arg-type]


def test_a_finished_job_has_its_last_gauge_and_the_summary_values() -> None:
    data = read_record(FINISHED, status="complete")
    assert (data["status"], data["progress"], data["stalled"]) == ("complete", 1.0, False)
    assert data["eta_seconds"] is None
    metrics = data["metrics"]
    assert metrics == {
        "train loss": {"latest": 0.2298, "min": 0.1729, "max": 2.371, "non_finite_step": 60},
        "acc": {"latest": 0.9, "min": None, "max": None, "non_finite_step": None},
        "lr": {"latest": 0.001, "min": None, "max": None, "non_finite_step": None},
    }  # `opt adam` is not a number: not a metric


def test_the_job_gauge_gives_progress_eta_and_end_time() -> None:
    status = "\n".join(
        [
            gauge_line(0.58, 1, "job 58% · ETA 2:14:05 · elapsed 1:18:00"),
            gauge_line(1.74, 3, "epoch 1/3 · ETA 2:14:05"),
            gauge_line(200, 250, "train 200/250 · 38.20it/s · ETA 00:01"),
        ]
    )
    data = read_record(status)
    assert (data["progress"], data["eta_seconds"]) == (0.58, 8045.0)
    assert data["finishes_at"] == "2025-03-01T21:14:05Z"
    assert data["lines"][0] == {  # type: ignore[index]
        "type": "gauge",
        "value": 0.58,
        "min": 0.0,
        "max": 1.0,
        "label": "job 58% · ETA 2:14:05 · elapsed 1:18:00",
        "color": None,
    }


def test_without_a_job_gauge_the_outermost_gauge_tells() -> None:
    status = "\n".join(
        [
            text_line("Evaluating"),
            gauge_line(3, 10, "shard 3/10 · 2.00s/it · ETA 00:14"),
            gauge_line(9, 10, "inner 9/10 · ETA 00:01"),
        ]
    )
    data = read_record(status)
    assert (data["progress"], data["eta_seconds"]) == (0.3, 14.0)
    assert data["metrics"] == {}


def test_a_nan_that_goes_on_has_no_latest_value() -> None:
    status = "\n".join(
        [
            gauge_line(412, 1875, "train 412/1875"),
            text_line("loss nan since step 412 · min 0.12 · max 2.75", "bad"),
            sparkline_line([2.75, 0.5, 0.12], "bad"),
        ]
    )
    series = read_record(status)["metrics"]["loss"]  # type: ignore[index]
    assert series == {"latest": None, "min": 0.12, "max": 2.75, "non_finite_step": 412}


def test_other_lines_are_not_metrics() -> None:
    status = "\n".join(
        [
            text_line("epoch 3"),  # a milestone
            gauge_line(1, 2, "epoch 1/2"),
            text_line("download 1234it · 15.20it/s"),  # a bar without a total
            text_line("Failed at 3/10: ValueError: bad 3", "bad"),
        ]
    )
    assert read_record(status)["metrics"] == {}
    assert read_record(text_line("step 3"))["metrics"] == {}  # a status of one line


def test_a_status_that_is_no_json_at_all() -> None:
    data = read_record("Processing epoch 23/100")  # a plain-text status, as valohai-utils sets it
    assert data["progress"] is None and data["metrics"] == {}
    assert data["lines"] == [{"type": "plain", "text": "Processing epoch 23/100"}]
    assert read_record(None)["lines"] == []


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("00:40", 40), ("59:59", 3599), ("2:14:05", 8045), ("2777:46:40", 10**7),
     ("1 day, 2:00:00", 93600), ("3 days, 0:00:01", 259201)],
)  # fmt: skip
def test_tqdms_intervals_are_read_as_seconds(text: str, seconds: int) -> None:
    assert clock_seconds(text) == seconds


@pytest.mark.parametrize("text", ["?", "", "1:2", "00:40s", "-00:40", "1:00:00:00", "ETA 00:40"])
def test_anything_else_is_no_interval(text: str) -> None:
    assert clock_seconds(text) is None


def test_an_odd_execution_object_still_gives_a_record() -> None:
    data = read_record(7, id=3, counter=True, status=["started"])
    assert (data["id"], data["counter"], data["status"], data["lines"]) == (None, None, None, [])


# -- properties ---------------------------------------------------------------------------------


def dumped(data: dict[str, object]) -> str:
    """The object as --json writes it: strict JSON (no NaN), one line."""
    text = json.dumps(data, ensure_ascii=True, allow_nan=False)
    assert "\n" not in text
    return text


ANY_LINE = st.one_of(
    st.text(max_size=120),
    st.builds(text_line, st.text(max_size=60), st.sampled_from([None, "warn", "bad"])),
    st.builds(gauge_line, st.floats(0, 1e6), st.floats(1e-3, 1e6), st.text(max_size=60)),
    st.builds(sparkline_line, st.lists(st.floats(allow_nan=True), max_size=8)),
    st.lists(st.sampled_from(["job 5%", "ETA 9:99:99", "stalled", "min 1", "nan", "x 1"]))
    .map(" · ".join)
    .map(text_line),
    st.lists(st.sampled_from(["job 5%", "ETA 1:00:00", "stalled", "ETA ?", "x"]))
    .map(" · ".join)
    .flatmap(lambda label: st.builds(gauge_line, st.floats(0, 1), st.just(1.0), st.just(label))),
)


@given(st.lists(ANY_LINE, max_size=12), st.one_of(st.none(), st.text(max_size=12)))
def test_any_status_gives_a_valid_record(lines: list[str], status: str | None) -> None:
    data = read_record("\n".join(lines), status=status)
    dumped(data)
    progress = data["progress"]
    assert progress is None or (isinstance(progress, float) and 0 <= progress <= 1)
    eta = data["eta_seconds"]
    assert eta is None or (isinstance(eta, float) and eta >= 0)
    assert isinstance(data["stalled"], bool)
    assert (data["finishes_at"] is None) == (eta is None) or (eta is not None and eta > 1e11)


WORDS = st.from_regex(r"[a-z]{1,6}", fullmatch=True).filter(lambda w: w not in ("min", "max"))
NAMES = st.lists(WORDS, min_size=1, max_size=2).map(" ".join)  # `loss`, `train loss`
NUMBERS = st.one_of(st.integers(-(10**6), 10**6), st.floats(-1e6, 1e6))
VALUES = st.one_of(NUMBERS, st.sampled_from([math.nan, math.inf, -math.inf]))
BARS = st.builds(
    BarView,
    desc=st.from_regex(r"[a-z]{0,8}", fullmatch=True),
    n=st.integers(0, 10**6),
    total=st.one_of(st.none(), st.integers(1, 10**6)),
    rate=st.one_of(st.none(), st.floats(0.01, 1e5)),
    elapsed=st.floats(0, 1e6),
)


@st.composite
def metric_views(draw: st.DrawFn) -> list[MetricView]:
    """Charted metrics (each with a point, so a sparkline follows), then summary values."""
    metrics = []
    for name in draw(st.lists(NAMES, unique=True, max_size=4)):
        if draw(st.booleans()):
            metrics.append(
                MetricView(
                    name,
                    draw(VALUES),
                    draw(st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=4)),
                    charted=True,
                    low=draw(st.one_of(st.none(), NUMBERS)),
                    high=draw(st.one_of(st.none(), NUMBERS)),
                    bad=draw(st.sampled_from([None, math.nan, math.inf, -math.inf])),
                    bad_step=draw(st.one_of(st.none(), st.integers(0, 10**6))),
                )
            )
        else:
            metrics.append(MetricView(name, draw(VALUES)))
    return metrics


def shown(value: object) -> float | None:
    """A number as the status shows it (4 significant digits) and read back; None if not finite."""
    number = float(value)  # type: ignore[arg-type]
    return float(f"{number:.4g}") if math.isfinite(number) else None


def expected_series(metric: MetricView) -> dict[str, float | None]:
    """What the status's line of ``metric`` states."""
    series = Series(shown(metric.value))
    if metric.charted:
        low, high = metric.low, metric.high
        stated = low is not None and high is not None and float(low) < float(high)  # type: ignore[arg-type]
        told = isinstance(metric.bad, float) and not math.isfinite(metric.bad)
        step = metric.bad_step if told and metric.bad_step is not None else None
        series = Series(
            series.latest,
            shown(low) if stated else None,
            shown(high) if stated else None,
            None if step is None else float(step),
        )
    return {"latest": series.latest, "min": series.low, "max": series.high,
            "non_finite_step": series.non_finite_step}  # fmt: skip


@given(
    bars=st.lists(BARS, min_size=1, max_size=MAX_BARS),
    metrics=metric_views(),
    job=st.one_of(
        st.none(),
        st.builds(
            Job,
            st.floats(0, 1),
            st.floats(0, 1e7),
            st.one_of(st.none(), st.floats(0, 1e7), st.floats(3.3e9, 1e12)),
        ),
    ),
    stall=st.one_of(st.none(), st.builds(Stall, st.floats(0, 1e5), st.none())),
    milestone=st.one_of(st.none(), st.from_regex(r"[A-Z][a-z ]{0,20}", fullmatch=True)),
)
def test_what_the_composer_writes_is_read_back(
    bars: list[BarView],
    metrics: list[MetricView],
    job: Job | None,
    stall: Stall | None,
    milestone: str | None,
) -> None:
    status = compose(
        bars, metrics, Milestone(milestone) if milestone else None, job=job, stall=stall
    )
    data = read_record(status)
    dumped(data)
    assert data["stalled"] is (stall is not None)
    gauges = [b for b in bars if b.total is not None]  # the others are text lines
    if job is not None:
        assert data["progress"] == pytest.approx(min(max(job.fraction, 0), 1), abs=1e-6)
        known = job.eta is not None and job.eta < 3.2e9 and job.fraction < 1
        eta = float(int(job.eta)) if known and stall is None else None  # type: ignore[arg-type]
    elif gauges:
        bar = gauges[0]
        assert data["progress"] == pytest.approx(min(bar.n / bar.total, 1), abs=1e-6)  # type: ignore[operator]
        ahead = bar.total > bar.n and bar.rate is not None  # type: ignore[operator]
        eta = float(int((bar.total - bar.n) / bar.rate)) if ahead and stall is None else None  # type: ignore[operator]
    else:
        assert data["progress"] is None
        eta = None
    assert data["eta_seconds"] == eta
    # Four metrics at most: every charted one is charted (MAX_CHARTS), the rest share a line.
    expected = {m.name: expected_series(m if m.charted else MetricView(m.name, m.value))
                for m in metrics}  # fmt: skip
    assert data["metrics"] == expected


def test_a_metric_line_with_its_sparkline_is_read() -> None:
    status = "\n".join([text_line("loss 0.5"), sparkline_line([1.0, 0.5])])
    assert read_record(status)["metrics"] == {
        "loss": {"latest": 0.5, "min": None, "max": None, "non_finite_step": None}
    }

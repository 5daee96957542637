"""What is worth an alert, decided on plain data and an injected clock: no thread, no sleep.

The Watch compares each status's data with the previous one; the Gate lets the same event for
the same subject out at most once per ``every`` seconds and at most ``MAX_ALERTS`` a run.
"""

from __future__ import annotations

from dataclasses import replace

from vhtqdm._events import (
    FAILED,
    FINISHED,
    MESSAGE,
    NAN,
    PHASE,
    RECOVERED,
    STALLED,
    STOPPED,
    Event,
    Gate,
    Seen,
    Watch,
    summary,
)
from vhtqdm._limits import MAX_ALERTS
from vhtqdm._views import COMPLETE, INTERRUPTED, BarView, Ending, Job, MetricView, Stall
from vhtqdm._views import FAILED as FAILED_OUTCOME
from vhtqdm._views import STOPPED as STOPPED_ENDING

EVERY = 600.0
EPOCH = BarView("epoch", 1, 3, 0.01, 100.0)
TRAIN = BarView("train", 412, 1875, 38.2, 40.0)


def seen(**changes: object) -> Seen:
    """A status mid-run: an epoch bar, a train bar inside it, the job at 58 %."""
    base = Seen(
        bars=[EPOCH, TRAIN],
        live=True,
        phases=[],
        metrics=[MetricView("loss", 0.47, (0.9, 0.6, 0.47), True, low=0.47, high=2.3)],
        job=Job(0.5833, 4680.0, 8045.0),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def kinds(events: list[Event]) -> list[str]:
    return [event.kind for event in events]


# -- the watch ------------------------------------------------------------------------------------


def test_a_metric_turning_nan_is_told_once_with_the_step_the_status_names() -> None:
    watch = Watch()
    assert watch.observe(seen()) == []
    nan = MetricView("loss", float("nan"), (0.9,), True, 0.47, 2.3, float("nan"), 412)
    (event,) = watch.observe(seen(metrics=[nan]))
    assert event.kind == NAN and event.level == "error" and event.subject == "loss"
    assert event.title == "loss turned nan at step 412"
    assert event.details == ("loss nan since step 412 \u00b7 min 0.47 \u00b7 max 2.3",)
    assert event.summary == "job 58% \u00b7 ETA 2:14:05"
    assert watch.observe(seen(metrics=[nan])) == []  # still nan: nothing new
    recovered = nan._replace(value=0.4)
    assert watch.observe(seen(metrics=[recovered])) == []  # the status keeps "nan at step 412"
    inf = MetricView("grad", float("inf"), (), True, bad=float("inf"), bad_step=7.0)
    (other,) = watch.observe(seen(metrics=[recovered, inf]))
    assert other.title == "grad turned inf at step 7"


def test_a_stall_and_its_end_are_told_in_the_statuss_words() -> None:
    watch = Watch()
    watch.observe(seen())
    (stalled,) = watch.observe(seen(stall=Stall(360.0, 0.3)))
    assert stalled.kind == STALLED and stalled.level == "warn"
    assert stalled.title == "stalled for 6 min at train 412/1875 (usual step 0.3 s)"
    assert stalled.summary == "job 58% \u00b7 stalled"
    assert watch.observe(seen(stall=Stall(420.0, 0.3))) == []  # still the same stall
    (moving,) = watch.observe(seen())
    assert moving.kind == RECOVERED and moving.level == "info"
    assert moving.title == "no longer stalled, after 07:00 without progress"


def test_an_outermost_bar_that_ends_is_a_phase_once() -> None:
    watch = Watch()
    prepare = BarView("prepare", 20, 20, 47.1, 0.42, outcome=COMPLETE)
    (phase,) = watch.observe(seen(phases=[prepare]))
    assert phase.kind == PHASE and phase.subject == "prepare" and phase.level == "info"
    assert phase.title == "prepare 20/20 \u00b7 47.10it/s \u00b7 in 00:00 \u00b7 done"
    assert watch.observe(seen(phases=[prepare])) == []
    early = BarView("eval 2", 5, 10, 1.0, 5.0, outcome="early")
    (second,) = watch.observe(seen(phases=[prepare, early]))
    assert second.subject == "eval" and second.level == "warn"  # the description, no number


def test_at_the_exit_the_ending_alone_tells_the_story_and_the_metrics() -> None:
    watch = Watch()
    prepare = BarView("prepare", 20, 20, 47.1, 0.42, outcome=COMPLETE)
    watch.observe(seen(phases=[prepare]))
    done = replace(EPOCH, n=3, outcome=COMPLETE)
    nan = MetricView("loss", 0.2, (), True, 0.1, 2.3, float("nan"), 60)
    final = seen(
        bars=[done], live=False, phases=[prepare, done], metrics=[nan], job=None, over=True,
        elapsed=5025.0,
    )  # fmt: skip
    (event,) = watch.observe(final)  # no phase, no NaN alert of their own: the story has them
    assert event.kind == FINISHED and event.level == "info"
    assert event.title == "Finished in 1:23:45"
    assert event.details == (
        "prepare 20/20 \u00b7 47.10it/s \u00b7 in 00:00 \u00b7 done",
        "epoch 3/3 \u00b7 100.00s/it \u00b7 in 01:40 \u00b7 done",  # tqdm inverts a slow rate
        "loss 0.2 \u00b7 nan at step 60 \u00b7 min 0.1 \u00b7 max 2.3",
    )
    assert event.summary is None
    assert watch.observe(final) == []  # the last word is said once


def test_a_failure_says_the_statuss_error_line_and_where_the_job_was() -> None:
    watch = Watch()
    watch.observe(seen())
    failed_bars = [replace(EPOCH, outcome=FAILED_OUTCOME), replace(TRAIN, outcome=FAILED_OUTCOME)]
    error = Ending(FAILED_OUTCOME, "RuntimeError: CUDA out of memory")
    (event,) = watch.observe(seen(bars=failed_bars, live=False, ending=error, over=True))
    assert event.kind == FAILED and event.level == "error"
    assert event.title == "Failed at train 412/1875: RuntimeError: CUDA out of memory"
    assert event.summary == "job 40%"  # as the bars ended: (1 + 412/1875) / 3, no ETA
    alone = Watch()
    alone.observe(seen(bars=[TRAIN], job=None))
    (event,) = alone.observe(seen(bars=failed_bars[1:], live=False, ending=error, over=True))
    assert event.summary == "train 412/1875"  # no job: the bar, as the latest status saw it


def test_sigterm_and_ctrl_c_are_stopped() -> None:
    stopped_bars = [replace(TRAIN, outcome=INTERRUPTED)]
    sigterm = Watch().observe(
        seen(bars=stopped_bars, live=False, ending=Ending(STOPPED_ENDING), over=True)
    )
    ctrl_c = Watch().observe(
        seen(
            bars=stopped_bars, live=False, ending=Ending(INTERRUPTED, "KeyboardInterrupt"),
            over=True,
        )
    )  # fmt: skip
    assert [(e.kind, e.level, e.title) for e in sigterm + ctrl_c] == [
        (STOPPED, "warn", "Stopped at train 412/1875"),
        (STOPPED, "warn", "Interrupted at train 412/1875: KeyboardInterrupt"),
    ]


def test_the_summary_is_the_job_gauge_else_the_outermost_bar() -> None:
    assert summary(seen()) == "job 58% \u00b7 ETA 2:14:05"
    train = "train 412/1875 \u00b7 38.20it/s \u00b7 ETA 00:38"
    assert summary(seen(job=None, bars=[TRAIN])) == train
    assert summary(seen(job=None, bars=[TRAIN], stall=Stall(400.0))) == "train 412/1875"
    assert summary(seen(job=None, bars=[])) is None


# -- the gate -------------------------------------------------------------------------------------


def event(kind: str, subject: str = "job") -> Event:
    return Event(kind, "warn", subject, kind)


def test_the_same_event_for_the_same_subject_waits_every_seconds() -> None:
    gate = Gate(EVERY)
    assert gate.admit(event(NAN, "loss"), 0.0)
    assert not gate.admit(event(NAN, "loss"), 599.0)
    assert gate.admit(event(NAN, "acc"), 599.0)  # another subject
    assert gate.admit(event(NAN, "loss"), 600.0)
    assert (gate.sent, gate.capped) == (3, 0)  # a repeat held back is not counted as capped


def test_a_stall_that_ends_and_comes_back_is_new_only_after_every_seconds() -> None:
    gate = Gate(EVERY)
    told = [
        (t, kind)
        for t, kind in [
            (0.0, STALLED), (60.0, RECOVERED),  # told, and its end
            (120.0, STALLED), (180.0, RECOVERED),  # within 600 s: neither
            (650.0, STALLED), (700.0, RECOVERED),  # 650 s after the first: both again
        ]
        if gate.admit(event(kind), t)
    ]  # fmt: skip
    assert told == [(0.0, STALLED), (60.0, RECOVERED), (650.0, STALLED), (700.0, RECOVERED)]


def test_at_most_max_alerts_a_run_the_rest_counted_the_last_word_always() -> None:
    gate = Gate(0.0)
    admitted = [gate.admit(event(MESSAGE, f"m{i}"), float(i)) for i in range(MAX_ALERTS + 5)]
    assert admitted == [True] * MAX_ALERTS + [False] * 5
    assert not gate.admit(event(STALLED), 100.0)
    assert (gate.sent, gate.capped) == (MAX_ALERTS, 6)
    assert gate.admit(event(FINISHED), 101.0)
    assert gate.admit(event(FAILED), 102.0)  # (the watch says it once; the gate never holds it)


def test_messages_are_never_held_back_as_repeats() -> None:
    gate = Gate(EVERY)
    assert all(gate.admit(event(MESSAGE, "same text"), float(t)) for t in range(5))

"""The run's story through the public API: the job's gauge, stalls, and earlier phases."""

from __future__ import annotations

import time

import pytest

import vhtqdm
from vhtqdm import tqdm, trange

from .helpers import last, quiet
from .server import StatusServer


def test_nested_bars_open_with_the_whole_jobs_gauge(valohai: StatusServer) -> None:
    epochs = trange(3, desc="epoch", **quiet())
    batches = tqdm(total=100, desc="train", **quiet())
    batches.update(50)
    time.sleep(0.2)  # some elapsed time for the job's pace
    assert vhtqdm.flush(5)
    job, epoch, train = last(valohai)
    assert job["type"] == "gauge" and (job["min"], job["max"]) == (0, 1)
    assert job["value"] == pytest.approx(0.5 / 3, abs=1e-3)
    assert str(job["label"]).startswith("job 16% \u00b7 ETA ")
    assert " \u00b7 elapsed 00:00" in str(job["label"])
    # The first epoch no longer sits at 0/3 without an ETA.
    assert epoch["value"] == pytest.approx(0.5, abs=1e-3) and epoch["max"] == 3
    assert str(epoch["label"]).startswith("epoch 0/3 \u00b7 ETA ")
    assert str(train["label"]).startswith("train 50/100")
    batches.close()
    epochs.update(1)
    batches = tqdm(total=100, desc="train", **quiet())  # re-created each epoch
    batches.update(10)
    assert vhtqdm.flush(5)
    assert last(valohai)[0]["value"] == pytest.approx(1.1 / 3, abs=1e-3)
    batches.close()
    epochs.close()


def test_a_single_bar_has_no_job_gauge(valohai: StatusServer) -> None:
    with tqdm(total=10, desc="train", **quiet()) as bar:
        bar.update(3)
        assert vhtqdm.flush(5)
        assert [str(g["label"]).split()[0] for g in last(valohai)] == ["train"]


@pytest.mark.slow
def test_a_hung_loop_turns_stalled_then_clears(valohai: StatusServer) -> None:
    bar = tqdm(total=1875, desc="train", status_interval=0.5, stall_after=1, **quiet())
    for _ in range(5):
        bar.update()
        time.sleep(0.01)
    # Now the loop hangs: nothing calls into vhtqdm, yet the sender notices.
    assert valohai.wait_for(lambda posts: bool(posts) and "stalled" in posts[-1].status, 6)
    stalled = last(valohai)
    line = next(e for e in stalled if "stalled" in str(e.get("text", "")))
    assert str(line["text"]).startswith("stalled for ")
    assert " at train 5/1875" in str(line["text"]) and line["color"] == "warn"
    (gauge,) = [e for e in stalled if e["type"] == "gauge"]
    assert gauge["label"] == "train 5/1875"  # no stale rate or ETA shown as if healthy
    bar.update()
    assert valohai.wait_for(lambda posts: bool(posts) and "stalled" not in posts[-1].status, 5)
    assert "ETA" in str(last(valohai)[0]["label"])
    bar.close()


@pytest.mark.slow
def test_stall_after_0_turns_stalls_off(
    valohai: StatusServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VHTQDM_STALL_AFTER", "0")
    bar = tqdm(total=100, desc="train", status_interval=0.5, **quiet())
    bar.update()
    time.sleep(2.0)
    assert vhtqdm.flush(5)
    assert valohai.posts and not any("stalled" in p.status for p in valohai.posts)
    bar.close()


@pytest.mark.slow
def test_vhtqdm_stall_after_sets_the_limit(
    valohai: StatusServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VHTQDM_STALL_AFTER", "0.5")
    bar = tqdm(total=100, desc="train", status_interval=0.5, **quiet())
    bar.update()
    assert valohai.wait_for(lambda posts: bool(posts) and "stalled" in posts[-1].status, 6)
    bar.close()


def test_the_final_status_tells_every_phase(valohai: StatusServer) -> None:
    for _ in tqdm(range(32), desc="training", **quiet()):
        pass
    for _ in tqdm(range(8), desc="evaluation", **quiet()):
        pass
    assert vhtqdm.flush(5)
    phase, gauge = last(valohai)
    assert str(phase["text"]).startswith("training 32/32 \u00b7 ")
    assert str(phase["text"]).endswith(" \u00b7 done") and phase["color"] == "good"
    assert str(gauge["label"]).startswith("evaluation 8/8 ") and gauge["color"] == "good"


def test_a_bar_reset_for_rounds_is_not_the_job(valohai: StatusServer) -> None:
    main = tqdm(total=10, desc="Epoch 0", **quiet())  # Lightning reuses its bar each epoch
    inner = tqdm(total=4, desc="Validation", **quiet())
    main.update(10)
    assert vhtqdm.flush(5)
    assert str(last(valohai)[0]["label"]).startswith("job ")
    inner.close()
    main.reset(total=10)
    main.set_description("Epoch 1")
    main.update(2)
    assert vhtqdm.flush(5)
    assert [str(g["label"]).split()[0] for g in last(valohai)] == ["Epoch"]
    main.close()

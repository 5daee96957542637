"""Lightning with ``vhtqdm.lightning.TQDMProgressBar``: the shipped example, on 'Valohai'."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..helpers import ROOT
from ..server import StatusServer
from . import require, run_file

require("lightning")
pytestmark = pytest.mark.slow


def test_train_and_validation_gauges_and_logged_losses_reach_the_status(
    server: StatusServer, config_dir: Path
) -> None:
    run = run_file(ROOT / "examples" / "lightning_fit.py", config_dir)
    assert run.code == 0, run.err
    assert "final val_loss " in run.out
    labels = {g["label"].split(" ")[0] for p in server.posts for g in p.of_type("gauge")}
    assert {"Epoch", "Validation"} <= labels
    last = server.posts[-1]
    fit, train, validation = last.of_type("gauge")
    assert fit["label"].startswith("fit 3/3 epoch") and fit["color"] == "good"
    assert train["label"].startswith("Epoch 2 20/20") and train["color"] == "good"
    assert validation["label"].startswith("Validation DataLoader 0 4/4")
    texts = last.texts()
    assert any(t.startswith("train_loss ") for t in texts), texts
    assert any(t.startswith("val_loss ") for t in texts), texts
    assert len(last.of_type("sparkline")) == 2
    # Log mode on stdout (Lightning's bars write there): plain lines, one per epoch at least.
    assert "\r" not in run.out
    assert [f"Epoch {e}: 100%" in run.out for e in range(3)] == [True] * 3


def test_the_callback_builds_vhtqdm_bars() -> None:
    import vhtqdm
    from vhtqdm.lightning import Tqdm, TQDMProgressBar

    lightning = require("lightning")
    assert isinstance(TQDMProgressBar(), lightning.pytorch.callbacks.TQDMProgressBar)
    assert issubclass(Tqdm, vhtqdm.tqdm)
    assert Tqdm.format_num(0.5) == "0.500"  # Lightning's padding is kept


def test_the_bars_are_built_by_lightnings_own_code() -> None:
    lightning = require("lightning")
    from lightning.pytorch.callbacks.progress import tqdm_progress

    from vhtqdm.lightning import Tqdm, TQDMProgressBar

    ours = TQDMProgressBar(process_position=1).init_train_tqdm()
    stock = lightning.pytorch.callbacks.TQDMProgressBar(process_position=1).init_train_tqdm()
    assert type(ours) is Tqdm and type(stock) is tqdm_progress.Tqdm
    for name in ("desc", "pos", "leave", "smoothing", "bar_format", "fp"):
        assert getattr(ours, name) == getattr(stock, name), name
    assert callable(ours.dynamic_ncols) and callable(stock.dynamic_ncols)
    assert tqdm_progress.Tqdm is not Tqdm  # Lightning's name is its own again after the call
    ours.close()
    stock.close()


def test_a_fit_has_its_epochs_gauge_a_whole_run_eta_and_one_point_per_validation(
    server: StatusServer, config_dir: Path
) -> None:
    # Fails on the previous code: "Epoch 2 94/250 · ETA 00:03" with no "of 5" and no whole-run
    # ETA; the sanity check stayed a phase of the run; val_loss a staircase (5 evaluations,
    # 32 points).
    run = run_file(ROOT / "examples" / "lightning_fit.py", config_dir, "5")
    assert run.code == 0, run.err
    mid = [p for p in server.posts if any(" ETA " in g["label"] for g in p.of_type("gauge"))]
    assert mid, [p.status for p in server.posts]
    for post in mid:
        job, fit = post.of_type("gauge")[:2]
        assert job["label"].startswith("job ") and fit["label"].startswith("fit "), post.status
        assert "/5 epoch" in fit["label"]
    last = server.posts[-1]
    assert not any("Sanity" in t for t in last.texts()), last.texts()
    lines = last.status.split("\n")
    val = next(i for i, line in enumerate(lines) if '"val_loss ' in line)
    points = last.elements[val + 1]
    assert points["type"] == "sparkline" and len(points["values"]) == 5, points

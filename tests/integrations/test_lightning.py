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
    train, validation = last.of_type("gauge")
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

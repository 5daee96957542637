"""Keras 3 (torch backend) with ``vhtqdm.keras.TqdmCallback``: the shipped example, on 'Valohai'."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ..helpers import ROOT
from ..server import StatusServer
from . import require, run_file

os.environ.setdefault("KERAS_BACKEND", "torch")  # Keras 3 on torch: no TensorFlow here
require("keras")
pytestmark = pytest.mark.slow


def test_keras_epochs_batches_and_loss_reach_the_status(
    server: StatusServer, config_dir: Path
) -> None:
    run = run_file(ROOT / "examples" / "keras_fit.py", config_dir)
    assert run.code == 0, run.err
    assert run.out.startswith("final loss ")
    last = server.posts[-1]
    epoch, batch = last.of_type("gauge")
    assert epoch["label"].startswith("3/3 epoch") and epoch["color"] == "good"
    assert (batch["value"], batch["max"]) == (16, 16)  # 512 rows / 32 per batch, reset per epoch
    texts = last.texts()
    assert any(t.startswith("loss ") for t in texts), texts
    assert last.of_type("sparkline"), last.status
    # Log mode: each epoch's batch bar leaves a plain line; no carriage returns in the log.
    assert "\r" not in run.err
    assert run.err.count("16.0/16.0") == 3

"""The Hugging Face Trainer with ``vhtqdm.transformers``: the shipped example, and ``install``."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..helpers import ROOT
from ..server import StatusServer
from . import require, run_file

require("transformers")
pytestmark = pytest.mark.slow


def test_logged_values_become_sparklines_next_to_the_bars(
    server: StatusServer, config_dir: Path
) -> None:
    run = run_file(ROOT / "examples" / "hf_trainer.py", config_dir)
    assert run.code == 0, run.err
    assert "final eval_loss " in run.out
    assert "{'loss': " in run.out  # the logs are still printed, as the stock callback does
    training = [
        g for p in server.posts for g in p.of_type("gauge") if g["max"] == 32
    ]  # 256 rows / 16 per batch * 2 epochs
    assert training and training[-1]["value"] == 32 and training[-1]["color"] == "good"
    last = server.posts[-1]
    names = [t.split(" ")[0] for t in last.texts()]
    assert {"loss", "learning_rate", "grad_norm", "eval_loss"} <= set(names), names
    assert not [n for n in names if n.endswith(("_runtime", "_per_second"))]
    assert len(last.of_type("sparkline")) == 3  # loss, eval_loss, grad_norm; the lr is text
    assert "\r" not in run.err  # log mode: plain lines


def test_install_swaps_the_stock_callback_once(tmp_path: Path) -> None:
    transformers = require("transformers")
    import torch

    import vhtqdm.transformers

    def trainer(**options: object) -> object:
        args = transformers.TrainingArguments(
            output_dir=str(tmp_path), report_to="none", use_cpu=True, **options
        )
        return transformers.Trainer(model=torch.nn.Linear(2, 2), args=args)

    def progress(t: object) -> list[type]:
        return [
            type(c)
            for c in t.callback_handler.callbacks  # type: ignore[attr-defined]
            if "Progress" in type(c).__name__ or "Printer" in type(c).__name__
        ]

    with_bars = trainer(disable_tqdm=False)
    assert progress(with_bars) == [transformers.trainer_callback.ProgressCallback]
    installed = vhtqdm.transformers.install(with_bars)
    vhtqdm.transformers.install(with_bars)  # twice: still one
    assert progress(with_bars) == [vhtqdm.transformers.ProgressCallback]
    assert installed is not None

    without_bars = trainer(disable_tqdm=True)
    before = progress(without_bars)
    assert vhtqdm.transformers.install(without_bars) is None
    assert progress(without_bars) == before == [transformers.trainer_callback.PrinterCallback]


def test_only_numbers_that_are_not_summaries_are_forwarded() -> None:
    require("transformers")
    from vhtqdm.transformers import forwarded

    logs = {
        "loss": 0.5,
        "epoch": 1.0,
        "note": "x",
        "ok": True,
        "train_runtime": 3.0,
        "eval_samples_per_second": 9.0,
        "total_flos": 1e12,
        "eval_loss": 0.4,
    }
    assert forwarded(logs) == {"loss": 0.5, "epoch": 1.0, "eval_loss": 0.4}


def test_the_bars_are_built_by_the_stock_callbacks_own_code() -> None:
    transformers = require("transformers")
    from transformers import trainer_callback

    import vhtqdm.transformers
    from vhtqdm.auto import tqdm as vh_auto_tqdm

    state = transformers.TrainerState(max_steps=7)
    ours, stock = vhtqdm.transformers.ProgressCallback(), trainer_callback.ProgressCallback()
    for callback in (ours, stock):
        callback.on_train_begin(None, state, None)
        callback.on_prediction_step(None, state, None, eval_dataloader=[1, 2, 3])
    assert isinstance(ours.training_bar, vh_auto_tqdm)
    assert not isinstance(stock.training_bar, vh_auto_tqdm)
    assert trainer_callback.tqdm is not vh_auto_tqdm  # the stock name is its own again
    for name in ("total", "leave"):
        assert getattr(ours.training_bar, name) == getattr(stock.training_bar, name)
        assert getattr(ours.prediction_bar, name) == getattr(stock.prediction_bar, name)
    assert callable(ours.training_bar.dynamic_ncols) and callable(stock.training_bar.dynamic_ncols)
    assert isinstance(ours.prediction_bar, vh_auto_tqdm) and ours.prediction_bar.n == 1
    for callback in (ours, stock):
        callback.prediction_bar.close()
        callback.training_bar.close()


TRAINER_JOB = """
import tempfile, time
import numpy as np
import torch
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments
import vhtqdm.transformers


class Parity(torch.utils.data.Dataset):
    def __init__(self, rows, seed):
        generator = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(1, 10, (rows, 12), generator=generator)
        self.labels = ((self.ids == 5).sum(dim=1) % 2).long()

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "labels": self.labels[i]}


def metrics(prediction):
    guessed = prediction.predictions.argmax(-1)
    right = guessed == prediction.label_ids
    positive = guessed == 1
    f1 = 2 * (right & positive).sum() / max(positive.sum() + (prediction.label_ids == 1).sum(), 1)
    return {"accuracy": float(right.mean()), "f1": float(f1)}


torch.manual_seed(0)
config = BertConfig(vocab_size=10, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                    intermediate_size=32, max_position_embeddings=16, num_labels=2)
with tempfile.TemporaryDirectory() as out:
    args = TrainingArguments(output_dir=out, num_train_epochs=3, per_device_train_batch_size=16,
                             per_device_eval_batch_size=4, learning_rate=1e-3, logging_steps=2,
                             eval_strategy="epoch", save_strategy="no", report_to="none",
                             use_cpu=True, disable_tqdm=False)
    trainer = Trainer(model=BertForSequenceClassification(config), args=args,
                      train_dataset=Parity(192, 1), eval_dataset=Parity(64, 2),
                      compute_metrics=metrics)
    vhtqdm.transformers.install(trainer)
    trainer.train()
    trainer.predict(Parity(16, 3))
"""


def test_a_trainer_run_is_labelled_with_a_whole_run_gauge_and_clean_eval_curves(
    server: StatusServer, config_dir: Path, tmp_path: Path
) -> None:
    # Fails on the previous code: unlabelled gauges (379/564, 16/16), no job gauge, eval_loss a
    # staircase re-reported at every log, and epoch charted while eval_f1 fell to text.
    job = tmp_path / "trainer_job.py"
    job.write_text(TRAINER_JOB)
    run = run_file(job, config_dir)
    assert run.code == 0, run.err
    labels = [str(g["label"]) for p in server.posts for g in p.of_type("gauge")]
    assert any(label.startswith("train ") for label in labels), labels
    assert any(label.startswith("eval ") for label in labels), labels
    assert any(label.startswith("predict ") for label in labels), labels
    mid = [
        p
        for p in server.posts
        if any(
            g["label"].startswith("train ") and g.get("color") is None for g in p.of_type("gauge")
        )
    ]
    assert mid and all(p.of_type("gauge")[0]["label"].startswith("job ") for p in mid), [
        p.status for p in mid
    ]
    assert any(" ETA " in p.of_type("gauge")[0]["label"] for p in mid)
    last = server.posts[-1]
    texts = last.texts()
    charted = [t.split(" ")[0] for t in texts if " min " in t or t.split(" ")[0] in ("loss",)]
    assert charted[:2] == ["loss", "eval_loss"], texts  # the loss first, the evaluation's next
    assert "eval_f1" in [t.split(" ")[0] for t in texts if t.startswith("eval_f1")], texts
    summary = [t for t in texts if "epoch " in t and " min " not in t]
    assert summary, texts  # epoch is text, not a curve
    lines = last.status.split("\n")
    eval_loss = next(i for i, line in enumerate(lines) if '"eval_loss ' in line)
    points = last.elements[eval_loss + 1]
    assert points["type"] == "sparkline" and len(points["values"]) == 3, points  # 3 evaluations

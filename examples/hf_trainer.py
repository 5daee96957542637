"""The Hugging Face Trainer with ``vhtqdm.transformers.install``: bars plus the logged loss.

Needs ``transformers``, ``accelerate`` and ``torch``. The model is a tiny BERT built from a
config (no download); the stock progress callback only prints the logs, vhtqdm's also charts them.
"""

from __future__ import annotations

import tempfile

import torch
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

import vhtqdm.transformers


class Parity(torch.utils.data.Dataset[dict[str, torch.Tensor]]):
    """Sequences of token ids labelled by whether token 5 appears an odd number of times."""

    def __init__(self, rows: int, seed: int) -> None:
        generator = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(1, 10, (rows, 12), generator=generator)
        self.labels = ((self.ids == 5).sum(dim=1) % 2).long()

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"input_ids": self.ids[i], "labels": self.labels[i]}


def main(epochs: int = 2) -> float:
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=10,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=16,
        num_labels=2,
    )
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(
            output_dir=out,
            num_train_epochs=epochs,
            per_device_train_batch_size=16,
            learning_rate=1e-3,
            logging_steps=4,
            eval_strategy="epoch",
            save_strategy="no",
            report_to="none",
            use_cpu=True,
            disable_tqdm=False,
        )
        trainer = Trainer(
            model=BertForSequenceClassification(config),
            args=args,
            train_dataset=Parity(256, 1),
            eval_dataset=Parity(64, 2),
        )
        vhtqdm.transformers.install(trainer)  # the one line vhtqdm adds
        trainer.train()
        return float(trainer.evaluate()["eval_loss"])


if __name__ == "__main__":
    print(f"final eval_loss {main():.4f}")

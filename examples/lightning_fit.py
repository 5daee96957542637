"""Lightning with ``vhtqdm.lightning.TQDMProgressBar``: train/val gauges and the logged loss.

Needs ``lightning`` and ``torch`` (``pip install lightning torch``). Everything else is a
plain Lightning script; the progress bar callback is the only change.
"""

from __future__ import annotations

import sys

import lightning as L
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from vhtqdm.lightning import TQDMProgressBar


class Regression(L.LightningModule):
    """A linear model; its losses are logged to the progress bar."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Linear(8, 1)

    def training_step(self, batch: list[torch.Tensor], _index: int) -> torch.Tensor:
        x, y = batch
        loss = nn.functional.mse_loss(self.layer(x), y)
        self.log("train_loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch: list[torch.Tensor], _index: int) -> None:
        x, y = batch
        self.log("val_loss", nn.functional.mse_loss(self.layer(x), y), prog_bar=True)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.05)


def loader(rows: int, seed: int) -> DataLoader[tuple[torch.Tensor, ...]]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, 8, generator=generator)
    y = x.sum(dim=1, keepdim=True) + 0.1 * torch.randn(rows, 1, generator=generator)
    return DataLoader(TensorDataset(x, y), batch_size=32)


def main(epochs: int = 3) -> float:
    torch.manual_seed(0)
    trainer = L.Trainer(
        max_epochs=epochs,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        callbacks=[TQDMProgressBar()],
    )
    trainer.fit(Regression(), loader(640, 1), loader(128, 2))
    return float(trainer.callback_metrics["val_loss"])


if __name__ == "__main__":
    print(f"final val_loss {main(int(sys.argv[1]) if len(sys.argv) > 1 else 3):.4f}")

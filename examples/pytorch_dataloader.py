"""A real PyTorch loop: a DataLoader with worker processes, wrapped in vhtqdm's tqdm.

Needs ``torch`` (not a dependency of vhtqdm): ``pip install torch``. The DataLoader's workers
are forked or spawned processes; vhtqdm posts only from the main process.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from vhtqdm import tqdm, trange


def main(epochs: int = 2) -> float:
    torch.manual_seed(0)
    features = torch.randn(2048, 16)
    targets = features @ torch.randn(16, 1) + 0.1 * torch.randn(2048, 1)
    loader = DataLoader(
        TensorDataset(features, targets), batch_size=64, shuffle=True, num_workers=2
    )
    model = nn.Linear(16, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    loss = torch.tensor(0.0)
    for _epoch in trange(epochs, desc="epoch"):
        bar = tqdm(loader, desc="train", leave=False)
        for batch, target in bar:
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(batch), target)
            loss.backward()
            optimizer.step()
            bar.set_postfix(loss=loss.item())
    return float(loss)


if __name__ == "__main__":
    print(f"final loss {main():.4f}")

"""A toy training job: epochs of batches, a decaying noisy loss, no dependencies but vhtqdm.

Run it anywhere; on Valohai (or under ``vhtqdm preview``) its bars and its loss also appear in
the execution status. It differs from a plain tqdm script in the import and in two vhtqdm
extras: the ``vhtqdm.set_status`` milestones and ``status_interval=1`` on the epoch bar (a
keyword plain tqdm rejects).
"""

from __future__ import annotations

import math
import random
import time

import vhtqdm
from vhtqdm import tqdm, trange


def train(epochs: int = 3, batches: int = 80, seconds_per_step: float = 0.02) -> float:
    vhtqdm.set_status("Loading training data\u2026")
    time.sleep(0.5)  # pretend to read a data set
    # The milestone stays above the bars, and in the final status: say what the job is doing.
    vhtqdm.set_status(f"Training a toy model: {epochs} epochs of {batches} batches")
    rng = random.Random(0)
    loss = 2.5
    step = 0
    # status_interval=1 keeps this short demo lively; real jobs keep the default of 5 seconds.
    for _epoch in trange(epochs, desc="epoch", status_interval=1):
        batches_bar = tqdm(range(batches), desc="train", leave=False)
        for _batch in batches_bar:
            time.sleep(seconds_per_step)  # the forward and backward pass
            step += 1
            loss = 2.5 * math.exp(-step / 90) + 0.1 + rng.gauss(0, 0.04)
            batches_bar.set_postfix(loss=loss)
    return loss


if __name__ == "__main__":
    final_loss = train()
    print(f"final loss {final_loss:.3f}")

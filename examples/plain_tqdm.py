"""A job that knows nothing of vhtqdm: plain tqdm bars, its own and the ones a helper draws.

Nothing in it imports vhtqdm; run it unchanged in zero-code mode and its bars, its loss and how
it ended appear in the execution status all the same:

    vhtqdm preview -- vhtqdm run -- python examples/plain_tqdm.py   # locally
    VHTQDM_AUTO=1 python examples/plain_tqdm.py                      # on Valohai (a step's env)

(``examples/valohai.yaml``'s ``train-unmodified`` step does the latter.) Without either it is a
plain tqdm script.
"""

from __future__ import annotations

import math
import random
import time

from tqdm.auto import tqdm, trange
from tqdm.contrib.concurrent import thread_map


def load(index: int) -> int:
    """Read one record (a library's loader, drawing its own bar through tqdm's helper)."""
    time.sleep(0.005)
    return index


def train(epochs: int = 3, batches: int = 60, seconds_per_step: float = 0.02) -> float:
    records = thread_map(load, range(300), max_workers=4, desc="load")
    rng = random.Random(len(records))
    loss = 2.5
    step = 0
    for _epoch in trange(epochs, desc="epoch"):
        bar = tqdm(range(batches), desc="train", leave=False)
        for _batch in bar:
            time.sleep(seconds_per_step)  # the forward and backward pass
            step += 1
            loss = 2.5 * math.exp(-step / 70) + 0.1 + rng.gauss(0, 0.04)
            bar.set_postfix(loss=loss)
    return loss


if __name__ == "__main__":
    print(f"final loss {train():.3f}")

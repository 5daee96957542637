"""A long training job in under a minute: what its status says over hours, compressed.

Epochs of train and eval bars under an epoch bar, a loss that falls, turns NaN once and recovers,
and one deliberate hang of a few seconds that the status reports as "stalled" (``stall_after`` is
short here; jobs keep the default of 5 minutes). Run it under ``vhtqdm preview`` to watch the
whole job's gauge, the stall and, at the end, the phases of the run.
"""

from __future__ import annotations

import math
import random
import time

import vhtqdm
from vhtqdm import tqdm, trange


def run(
    epochs: int = 3,
    batches: int = 40,
    seconds_per_step: float = 0.04,
    hang: float = 4.0,
) -> float:
    rng = random.Random(0)
    vhtqdm.set_status(f"Simulated long run: {epochs} epochs of {batches} batches")
    # status_interval=0.5 keeps this demo lively, stall_after=1.5 makes its hang a stall;
    # real jobs keep the defaults (5 s, 300 s). Both apply to the whole process.
    for _ in tqdm(range(20), desc="prepare", status_interval=0.5, stall_after=1.5):
        time.sleep(seconds_per_step / 2)  # pretend to read and shuffle a data set
    loss = 2.5
    step = 0
    for epoch in trange(epochs, desc="epoch"):
        train = tqdm(range(batches), desc="train", leave=False)
        for batch in train:
            time.sleep(seconds_per_step)  # the forward and backward pass
            step += 1
            loss = 2.3 * math.exp(-step / 40) + 0.1 + rng.gauss(0, 0.03)
            if epoch == 1 and batch == batches // 2:
                loss = math.nan  # one bad batch: the loss recovers at the next step
            if epoch == 1 and batch == 3 * batches // 4:
                time.sleep(hang)  # a hung data loader: the status says "stalled"
            train.set_postfix(loss=loss)
        evaluation = tqdm(range(batches // 4), desc="eval", leave=False)
        for _ in evaluation:
            time.sleep(seconds_per_step / 2)
            evaluation.set_postfix(loss=loss * 1.2 + rng.gauss(0, 0.01))
    for _ in tqdm(range(batches // 2), desc="test"):
        time.sleep(seconds_per_step / 2)
    return loss


if __name__ == "__main__":
    print(f"final loss {run():.3f}")

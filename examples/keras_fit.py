"""Keras 3 (any backend; the tests use torch) with ``vhtqdm.keras.TqdmCallback``.

Needs ``keras`` and a backend (``pip install keras torch``; ``KERAS_BACKEND=torch``). The epoch
and batch bars, and the loss Keras logs, reach the Valohai status.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras
import numpy as np

from vhtqdm.keras import TqdmCallback


def main(epochs: int = 3) -> float:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 8)).astype("float32")
    y = (x @ rng.normal(size=(8, 1)) + 0.1 * rng.normal(size=(512, 1))).astype("float32")
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    history = model.fit(
        x, y, epochs=epochs, batch_size=32, verbose=0, callbacks=[TqdmCallback(verbose=1)]
    )
    return float(history.history["loss"][-1])


if __name__ == "__main__":
    print(f"final loss {main():.4f}")

"""``vhtqdm.keras``: tqdm's Keras callback with mirrored bars (epochs and batches, with the logs).

>>> from vhtqdm.keras import TqdmCallback
>>> model.fit(x, y, epochs=10, verbose=0, callbacks=[TqdmCallback(verbose=1)])

Importing this module imports Keras (as ``tqdm.keras`` does); ``vhtqdm`` itself never does.
"""

from __future__ import annotations

from typing import Any

from tqdm.keras import TqdmCallback as _TqdmCallback

from .auto import tqdm as _tqdm_auto

__all__ = ["TqdmCallback"]


class TqdmCallback(_TqdmCallback):  # type: ignore[misc]  # tqdm is untyped
    """``tqdm.keras.TqdmCallback`` defaulting to ``vhtqdm.auto.tqdm``: the epoch bar, the batch
    bar and the logged metrics (``set_postfix(logs)``) reach the Valohai status."""

    def __init__(
        self,
        epochs: int | None = None,
        data_size: int | None = None,
        batch_size: int | None = None,
        verbose: int = 1,
        tqdm_class: Any = _tqdm_auto,
        **tqdm_kwargs: Any,
    ) -> None:
        super().__init__(epochs, data_size, batch_size, verbose, tqdm_class, **tqdm_kwargs)

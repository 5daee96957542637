"""``vhtqdm.lightning``: Lightning's progress bar, with vhtqdm bars, for ``lightning.pytorch``.

>>> from vhtqdm.lightning import TQDMProgressBar
>>> trainer = lightning.Trainer(callbacks=[TQDMProgressBar()])

The train, validation, test and predict bars become gauges of the Valohai status, and the
metrics Lightning shows on the bar (``self.log(..., prog_bar=True)``, e.g. the loss) become its
sparklines. Importing this module imports Lightning; ``vhtqdm`` itself never does.
"""

from __future__ import annotations

from lightning.pytorch.callbacks.progress import tqdm_progress as _tqdm_progress

from ._bar import tqdm as _vhtqdm
from ._tricks import swapped

__all__ = ["TQDMProgressBar", "Tqdm"]


class Tqdm(_vhtqdm, _tqdm_progress.Tqdm):  # type: ignore[misc]  # untyped bases
    """Lightning's bar (its number padding, its choice of notebook or text) mirrored."""


class TQDMProgressBar(_tqdm_progress.TQDMProgressBar):  # type: ignore[misc]
    """Lightning's ``TQDMProgressBar`` whose bars are :class:`Tqdm`: same output, same options.

    Each ``init_*_tqdm`` is Lightning's own, run while its ``Tqdm`` is vhtqdm's: Lightning keeps
    choosing the bars' arguments.
    """

    def init_sanity_tqdm(self) -> Tqdm:
        with swapped(_tqdm_progress, "Tqdm", Tqdm):
            bar: Tqdm = super().init_sanity_tqdm()
        return bar

    def init_train_tqdm(self) -> Tqdm:
        with swapped(_tqdm_progress, "Tqdm", Tqdm):
            bar: Tqdm = super().init_train_tqdm()
        return bar

    def init_predict_tqdm(self) -> Tqdm:
        with swapped(_tqdm_progress, "Tqdm", Tqdm):
            bar: Tqdm = super().init_predict_tqdm()
        return bar

    def init_validation_tqdm(self) -> Tqdm:
        with swapped(_tqdm_progress, "Tqdm", Tqdm):
            bar: Tqdm = super().init_validation_tqdm()
        return bar

    def init_test_tqdm(self) -> Tqdm:
        with swapped(_tqdm_progress, "Tqdm", Tqdm):
            bar: Tqdm = super().init_test_tqdm()
        return bar

"""``vhtqdm.lightning``: Lightning's progress bar, with vhtqdm bars, for ``lightning.pytorch``.

>>> from vhtqdm.lightning import TQDMProgressBar
>>> trainer = lightning.Trainer(callbacks=[TQDMProgressBar()])

The train, validation, test and predict bars become gauges of the Valohai status, and the
metrics Lightning shows on the bar (``self.log(..., prog_bar=True)``, e.g. the loss) become its
sparklines. Importing this module imports Lightning; ``vhtqdm`` itself never does.
"""

from __future__ import annotations

from typing import Any

from lightning.pytorch.callbacks.progress import tqdm_progress as _tqdm_progress

from . import _process
from ._bar import tqdm as _vhtqdm
from ._logmode import Sink, hide
from ._tricks import swapped

__all__ = ["TQDMProgressBar", "Tqdm"]


class Tqdm(_vhtqdm, _tqdm_progress.Tqdm):  # type: ignore[misc]  # untyped bases
    """Lightning's bar (its number padding, its choice of notebook or text) mirrored."""


class TQDMProgressBar(_tqdm_progress.TQDMProgressBar):  # type: ignore[misc]
    """Lightning's ``TQDMProgressBar`` whose bars are :class:`Tqdm`: same output, same options.

    Each ``init_*_tqdm`` is Lightning's own, run while its ``Tqdm`` is vhtqdm's: Lightning keeps
    choosing the bars' arguments. Two things only the status sees: the whole fit as a bar of its
    epochs (``fit 2/5 epoch``, off the screen), in which each epoch's bar runs, so the status
    has the job's gauge and ETA; and the sanity check, which is not a phase of the run.
    """

    _fit: _vhtqdm | None = None

    def init_sanity_tqdm(self) -> Tqdm:
        with swapped(_tqdm_progress, "Tqdm", Tqdm):
            bar: Tqdm = super().init_sanity_tqdm()
        bar._vh_phase = False  # gone from the run's story once it ends
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

    def on_train_start(self, trainer: Any, *args: Any) -> None:
        if not self.is_disabled:
            self._fit = _whole_fit(trainer)
        super().on_train_start(trainer, *args)

    def on_train_epoch_start(self, trainer: Any, *args: Any) -> None:
        super().on_train_epoch_start(trainer, *args)
        _advance(self._fit, trainer.current_epoch)

    def on_train_end(self, trainer: Any, *args: Any) -> None:
        super().on_train_end(trainer, *args)
        fit, self._fit = self._fit, None
        if fit is not None:
            _advance(fit, trainer.current_epoch)
            fit.close()


def _whole_fit(trainer: Any) -> _vhtqdm | None:
    """A bar of the fit's epochs, drawn nowhere, declared the whole run; None when the trainer
    knows no number of epochs, or nothing is mirrored."""
    epochs = getattr(trainer, "max_epochs", None)
    if not isinstance(epochs, int) or epochs <= 0:
        return None
    if _process.get() is None:  # not mirrored (off Valohai): nothing to tell
        return None
    bar = _vhtqdm(total=epochs, desc="fit", unit="epoch", file=Sink(None), leave=False)
    hide(bar)
    bar._vh_run = True
    return bar


def _advance(bar: _vhtqdm | None, epochs: int) -> None:
    """Epochs done (Lightning's ``current_epoch`` is the one that runs, or ran last)."""
    if bar is not None and isinstance(epochs, int) and epochs > bar.n:
        bar.n = min(epochs, bar.total)

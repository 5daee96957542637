"""``vhtqdm.lightning``: Lightning's progress bar, with vhtqdm bars, for ``lightning.pytorch``.

>>> from vhtqdm.lightning import TQDMProgressBar
>>> trainer = lightning.Trainer(callbacks=[TQDMProgressBar()])

The train, validation, test and predict bars become gauges of the Valohai status, and the
metrics Lightning shows on the bar (``self.log(..., prog_bar=True)``, e.g. the loss) become its
sparklines. Importing this module imports Lightning; ``vhtqdm`` itself never does.
"""

from __future__ import annotations

import sys
from typing import Any

from lightning.pytorch.callbacks.progress.tqdm_progress import Tqdm as _LightningTqdm
from lightning.pytorch.callbacks.progress.tqdm_progress import TQDMProgressBar as _TQDMProgressBar

from ._bar import tqdm as _vhtqdm

__all__ = ["TQDMProgressBar", "Tqdm"]


class Tqdm(_vhtqdm, _LightningTqdm):  # type: ignore[misc]  # untyped bases
    """Lightning's bar (its number padding, its choice of notebook or text) mirrored."""


class TQDMProgressBar(_TQDMProgressBar):  # type: ignore[misc]
    """Lightning's ``TQDMProgressBar`` whose bars are :class:`Tqdm`: same output, same options.

    Each ``init_*_tqdm`` builds the bar Lightning 2.x builds, with vhtqdm's class.
    """

    def _bar(self, desc: str, position: int, leave: bool, **extra: Any) -> Tqdm:
        return Tqdm(
            desc=desc,
            position=position,
            disable=self.is_disabled,
            leave=leave,
            dynamic_ncols=True,
            file=sys.stdout,
            bar_format=self.BAR_FORMAT,
            **extra,
        )

    def init_sanity_tqdm(self) -> Tqdm:
        return self._bar(self.sanity_check_description, 2 * self.process_position, False)

    def init_train_tqdm(self) -> Tqdm:
        return self._bar(self.train_description, 2 * self.process_position, True, smoothing=0)

    def init_predict_tqdm(self) -> Tqdm:
        return self._bar(self.predict_description, 2 * self.process_position, True, smoothing=0)

    def init_validation_tqdm(self) -> Tqdm:
        has_main_bar = self.trainer.state.fn != "validate"  # no train bar in trainer.validate()
        position = 2 * self.process_position + has_main_bar
        return self._bar(self.validation_description, position, not has_main_bar)

    def init_test_tqdm(self) -> Tqdm:
        return self._bar("Testing", 2 * self.process_position, True)

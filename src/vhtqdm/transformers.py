"""``vhtqdm.transformers``: the Hugging Face Trainer's progress bars, mirrored, with its logs.

>>> import vhtqdm.transformers
>>> trainer = Trainer(model=model, args=args, train_dataset=train)
>>> vhtqdm.transformers.install(trainer)
>>> trainer.train()

The stock ``ProgressCallback`` only prints what the Trainer logs; this one also puts the numeric
values (``loss``, ``learning_rate``, ``grad_norm``, ``eval_loss``…) into the training bar's
postfix, so they show on the bar and as sparklines in the Valohai status. Importing this module
imports ``transformers``; ``vhtqdm`` itself never does.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from transformers import trainer_callback as _trainer_callback
from transformers.trainer_callback import ProgressCallback as _ProgressCallback

from ._tricks import swapped
from .auto import tqdm as _tqdm

__all__ = ["ProgressCallback", "install"]

# One-off summaries logged at the end (speeds, run times, FLOPs, the run's mean loss): not worth
# a sparkline.
_SUMMARY_SUFFIXES = ("_runtime", "_per_second", "total_flos", "train_loss")


def forwarded(logs: dict[str, Any]) -> dict[str, float]:
    """The logged values that go into the postfix: numbers, except end-of-run summaries."""
    return {
        key: value
        for key, value in logs.items()
        if isinstance(value, (int, float))
        and not isinstance(value, bool)
        and not key.endswith(_SUMMARY_SUFFIXES)
    }


class ProgressCallback(_ProgressCallback):  # type: ignore[misc]  # transformers is untyped here
    """``transformers.ProgressCallback`` with vhtqdm bars that also show the logged values.

    The bars are the stock callback's own, built while its ``tqdm`` is vhtqdm's, and named as
    the Trainer's phases are: ``train`` (the whole run: its gauge and ETA are the job's),
    ``eval`` or ``predict``. Each log's numbers go into the training bar's postfix once, so an
    evaluation is one point of its curve, at the training step it ran at.
    """

    training_bar: Any  # set by the stock callback
    prediction_bar: Any

    def __init__(self, max_str_len: int = 100) -> None:
        super().__init__(max_str_len)
        self.phase = "eval"  # what the next prediction bar counts (``install`` tells)

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        with swapped(_trainer_callback, "tqdm", _tqdm):  # the stock code builds our bar
            super().on_train_begin(args, state, control, **kwargs)
        bar = self.training_bar
        if bar is not None:
            bar.set_description("train", refresh=False)
            bar._vh_run = True  # max_steps: the whole run, whatever runs inside it

    def on_prediction_step(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        started = self.prediction_bar is None
        with swapped(_trainer_callback, "tqdm", _tqdm):
            super().on_prediction_step(args, state, control, **kwargs)
        if started and self.prediction_bar is not None:
            self.prediction_bar.set_description(self.phase, refresh=False)

    def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
        super().on_log(args, state, control, logs=logs, **kwargs)  # prints them, as it always did
        if state.is_world_process_zero and self.training_bar is not None and logs:
            values = forwarded(logs)
            if values:
                self.training_bar.set_postfix(values)


def _in_phase(callback: ProgressCallback, phase: str, method: Callable[..., Any]) -> Any:
    """``method`` (the trainer's ``evaluate`` or ``predict``), telling ``callback`` its phase."""

    @functools.wraps(method)
    def run(*args: Any, **kwargs: Any) -> Any:
        before, callback.phase = callback.phase, phase
        try:
            return method(*args, **kwargs)
        finally:
            callback.phase = before

    return run


def install(trainer: Any) -> ProgressCallback | None:
    """Replace ``trainer``'s progress callback with vhtqdm's; returns it.

    With ``TrainingArguments(disable_tqdm=True)`` the Trainer shows no bars and this changes
    nothing (returns None). The trainer's ``evaluate`` and ``predict`` are wrapped (on this
    trainer only) so that the bar of each says which it is.
    """
    if getattr(trainer.args, "disable_tqdm", False):
        return None
    from transformers.trainer import DEFAULT_PROGRESS_CALLBACK  # stock bar, or notebook widget

    for stock in {DEFAULT_PROGRESS_CALLBACK, _ProgressCallback}:
        while trainer.pop_callback(stock) is not None:
            pass
    callback = ProgressCallback()
    trainer.add_callback(callback)
    trainer.evaluate = _in_phase(callback, "eval", trainer.evaluate)
    trainer.predict = _in_phase(callback, "predict", trainer.predict)
    return callback

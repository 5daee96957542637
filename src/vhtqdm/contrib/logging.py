"""``vhtqdm.contrib.logging``: tqdm's ``logging_redirect_tqdm`` for vhtqdm's bars.

>>> from vhtqdm.contrib.logging import logging_redirect_tqdm
>>> with logging_redirect_tqdm():
...     for step in trange(100):
...         log.info("step %d", step)  # printed above the bar, not through it

tqdm's own context managers; only the default ``tqdm_class`` is ``vhtqdm.tqdm``, as tqdm's is
``tqdm.std.tqdm``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from tqdm.contrib.logging import logging_redirect_tqdm as _logging_redirect_tqdm
from tqdm.contrib.logging import tqdm_logging_redirect as _tqdm_logging_redirect

from .._bar import tqdm as _vhtqdm

__all__ = ["logging_redirect_tqdm", "tqdm_logging_redirect"]


def logging_redirect_tqdm(
    loggers: Any = None, tqdm_class: type = _vhtqdm
) -> AbstractContextManager[None]:
    """Send console logging of ``loggers`` (default: the root logger) to ``tqdm_class.write``."""
    cm: AbstractContextManager[None] = _logging_redirect_tqdm(loggers, tqdm_class)
    return cm


def tqdm_logging_redirect(*args: Any, **kwargs: Any) -> AbstractContextManager[Any]:
    """A bar of ``tqdm_class`` (default ``vhtqdm.tqdm``) with console logging redirected to it."""
    kwargs.setdefault("tqdm_class", _vhtqdm)
    cm: AbstractContextManager[Any] = _tqdm_logging_redirect(*args, **kwargs)
    return cm

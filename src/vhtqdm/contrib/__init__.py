"""``vhtqdm.contrib``: tqdm's ``tenumerate``, ``tzip`` and ``tmap`` with mirrored bars.

>>> from vhtqdm.contrib import tenumerate
>>> for i, batch in tenumerate(loader, desc="train"):
...     ...

Each is tqdm's own function; only the default ``tqdm_class`` is ``vhtqdm.auto.tqdm``.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, TypeVar

from tqdm import contrib as _contrib

from ..auto import tqdm as _tqdm_auto

__all__ = ["tenumerate", "tmap", "tzip"]

F = TypeVar("F", bound=Callable[..., Any])


def with_vhtqdm_bars(func: F) -> F:
    """``func`` (a tqdm helper taking ``tqdm_class``) defaulting to ``vhtqdm.auto.tqdm``."""
    signature = inspect.signature(func)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind_partial(*args, **kwargs)
        if "tqdm_class" not in bound.arguments and "tqdm_class" not in bound.kwargs:
            kwargs["tqdm_class"] = _tqdm_auto
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


tenumerate = with_vhtqdm_bars(_contrib.tenumerate)
tzip = with_vhtqdm_bars(_contrib.tzip)
tmap = with_vhtqdm_bars(_contrib.tmap)

"""``vhtqdm.dask``: Dask progress in the Valohai status.

>>> from vhtqdm.dask import TqdmCallback, progress
>>> with TqdmCallback(desc="compute"):        # the local schedulers (threads, processes)
...     result = graph.compute()
>>> results = progress(client.map(f, items), desc="map")  # dask.distributed futures

Importing this module imports Dask (as ``tqdm.dask`` does); ``vhtqdm`` itself never does.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tqdm.dask import TqdmCallback as _TqdmCallback

from .auto import tqdm as _tqdm_auto

__all__ = ["TqdmCallback", "progress"]


class TqdmCallback(_TqdmCallback):  # type: ignore[misc]  # tqdm is untyped
    """``tqdm.dask.TqdmCallback`` defaulting to ``vhtqdm.auto.tqdm``: one bar of the graph's
    tasks, for Dask's local schedulers (a ``dask.distributed`` client reports through
    :func:`progress`)."""

    def __init__(
        self, start: Any = None, pretask: Any = None, tqdm_class: Any = _tqdm_auto, **kwargs: Any
    ) -> None:
        super().__init__(start, pretask, tqdm_class, **kwargs)


def progress(futures: Iterable[Any], **tqdm_kwargs: Any) -> list[Any]:
    """Wait for ``dask.distributed`` futures with a bar (a gauge) that counts them as they finish.

    Returns the futures in their given order. Counting what has finished is the truth the client
    has without a scheduler plugin: a future's own progress is not visible from the client.
    """
    from distributed import as_completed

    pending = list(futures)
    with _tqdm_auto(total=len(pending), **tqdm_kwargs) as bar:
        for _ in as_completed(pending):
            bar.update()
    return pending

"""``vhtqdm.asyncio``: ``tqdm.asyncio`` mirrored (``async for``, ``gather``, ``as_completed``).

>>> from vhtqdm.asyncio import tqdm
>>> results = await tqdm.gather(*coroutines, desc="requests")
"""

from __future__ import annotations

from typing import Any

from tqdm.asyncio import tqdm_asyncio as _tqdm_asyncio

from ._bar import tqdm as _vhtqdm

__all__ = ["tarange", "tqdm", "tqdm_asyncio", "trange"]


class tqdm_asyncio(_vhtqdm, _tqdm_asyncio):  # type: ignore[misc]  # tqdm is untyped
    """``tqdm.asyncio.tqdm_asyncio`` whose bars are mirrored into the Valohai status."""


def tarange(*args: Any, **kwargs: Any) -> tqdm_asyncio:
    """Shortcut for ``vhtqdm.asyncio.tqdm(range(*args), **kwargs)``."""
    return tqdm_asyncio(range(*args), **kwargs)


tqdm = tqdm_asyncio
trange = tarange

"""``vhtqdm.rich``: ``tqdm.rich``'s ``rich.progress`` bars, mirrored into the Valohai status.

>>> from vhtqdm.rich import tqdm, trange

Needs ``rich``, exactly like ``tqdm.rich`` (which tqdm still calls experimental).
"""

from __future__ import annotations

from typing import Any

from tqdm.rich import tqdm_rich as _tqdm_rich

from ._bar import tqdm as _vhtqdm

__all__ = ["tqdm", "tqdm_rich", "trange", "trrange"]


class tqdm_rich(_vhtqdm, _tqdm_rich):  # type: ignore[misc]  # tqdm is untyped
    """``tqdm.rich.tqdm_rich`` whose bars are mirrored into the Valohai status."""


def trrange(*args: Any, **kwargs: Any) -> tqdm_rich:
    """Shortcut for ``vhtqdm.rich.tqdm(range(*args), **kwargs)``."""
    return tqdm_rich(range(*args), **kwargs)


tqdm = tqdm_rich
trange = trrange

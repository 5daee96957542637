"""``vhtqdm.auto``: what ``tqdm.auto`` is to ``tqdm``, mirrored into the Valohai status.

>>> from vhtqdm.auto import tqdm, trange

Notebook widgets inside Jupyter, text bars elsewhere, and in both cases ``async for`` support.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from tqdm.std import TqdmExperimentalWarning

from ._bar import tqdm as _vhtqdm
from .asyncio import tqdm as _asyncio_tqdm

with warnings.catch_warnings():
    warnings.simplefilter("ignore", category=TqdmExperimentalWarning)
    from .autonotebook import tqdm as _notebook_tqdm

__all__ = ["tqdm", "trange"]

if TYPE_CHECKING:  # the type checker sees one branch; each has the asyncio bar's interface
    tqdm = _asyncio_tqdm
elif _notebook_tqdm is not _vhtqdm:

    class tqdm(_notebook_tqdm, _asyncio_tqdm):
        """Notebook widget bars with ``async for`` support, mirrored into the Valohai status."""

else:
    tqdm = _asyncio_tqdm


def trange(*args: Any, **kwargs: Any) -> tqdm:
    """Shortcut for ``vhtqdm.auto.tqdm(range(*args), **kwargs)``."""
    return tqdm(range(*args), **kwargs)

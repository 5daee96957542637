"""``vhtqdm.notebook``: ``tqdm.notebook``'s widget bars, mirrored into the Valohai status.

>>> from vhtqdm.notebook import tqdm, trange

Needs ``ipywidgets`` to draw, exactly like ``tqdm.notebook``.
"""

from __future__ import annotations

from typing import Any

from tqdm.notebook import tqdm_notebook as _tqdm_notebook

from ._bar import tqdm as _vhtqdm

__all__ = ["tnrange", "tqdm", "tqdm_notebook", "trange"]


class tqdm_notebook(_vhtqdm, _tqdm_notebook):  # type: ignore[misc]  # tqdm is untyped
    """``tqdm.notebook.tqdm_notebook`` whose bars are mirrored into the Valohai status."""


def tnrange(*args: Any, **kwargs: Any) -> tqdm_notebook:
    """Shortcut for ``vhtqdm.notebook.tqdm(range(*args), **kwargs)``."""
    return tqdm_notebook(range(*args), **kwargs)


tqdm = tqdm_notebook
trange = tnrange

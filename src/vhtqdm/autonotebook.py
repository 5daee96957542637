"""``vhtqdm.autonotebook``: notebook widgets inside Jupyter, text bars elsewhere, as tqdm picks.

>>> from vhtqdm.autonotebook import tqdm, trange

The choice is ``tqdm.autonotebook``'s own (same checks, same warnings); only the classes are
vhtqdm's.
"""

from __future__ import annotations

from tqdm import autonotebook as _choice
from tqdm.std import tqdm as _std_tqdm

__all__ = ["tqdm", "trange"]

if _choice.tqdm is _std_tqdm:
    from ._bar import tqdm, trange
else:  # Jupyter with ipywidgets: tqdm.autonotebook chose (and announced) the notebook bars
    from .notebook import tqdm, trange
